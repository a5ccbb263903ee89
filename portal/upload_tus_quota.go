package portal

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/seedbox"
)

// quotaGuard checks per-user and per-group storage quotas before an upload's
// first byte is accepted. Used space is the active torrents a user (or the
// user's group) uploaded, plus this node's uploads in progress: resumable
// uploads not finished yet and multipart requests being received.
type quotaGuard struct {
	catalog      *catalog.Catalog
	volumes      *seedbox.Volumes
	defaultQuota int64 // per user, when the user has none; 0: no limit

	mu       sync.Mutex
	users    map[uint64]*sync.Mutex // serializes one user's check-and-reserve
	inFlight map[uint64]int64       // multipart bytes being received, per user
}

func newQuotaGuard(c *catalog.Catalog, vs *seedbox.Volumes, def int64) *quotaGuard {
	return &quotaGuard{catalog: c, volumes: vs, defaultQuota: def,
		users: make(map[uint64]*sync.Mutex), inFlight: make(map[uint64]int64)}
}

// lock serializes quota checks of one user; it returns the unlock.
func (q *quotaGuard) lock(user uint64) func() {
	q.mu.Lock()
	m := q.users[user]
	if m == nil {
		m = new(sync.Mutex)
		q.users[user] = m
	}
	q.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// check refuses an upload of size more bytes with a 413 and a message that
// says which quota and by how much.
func (q *quotaGuard) check(ctx context.Context, u *catalog.User, size int64) error {
	use, err := q.catalog.Usage(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("quota: %w", err)
	}
	pending := q.pending(u.ID)
	limit := q.defaultQuota
	if use.UserQuota != nil {
		limit = *use.UserQuota
	}
	if limit > 0 && use.UserUsed+pending+size > limit {
		return overQuota("your", limit, use.UserUsed+pending, size)
	}
	if use.GroupQuota != nil && use.GroupUsed+pending+size > *use.GroupQuota {
		return overQuota("your group "+use.GroupName+"'s", *use.GroupQuota, use.GroupUsed+pending, size)
	}
	return nil
}

func overQuota(whose string, limit, used, size int64) error {
	return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf(
		"over quota: this upload (%s) does not fit in %s storage quota of %s (%s used, %s free)",
		humanBytes(size), whose, humanBytes(limit), humanBytes(used), humanBytes(max(limit-used, 0))))
}

// reserve checks a multipart upload of size bytes and counts it as in flight
// until the returned release is called.
func (q *quotaGuard) reserve(ctx context.Context, u *catalog.User, size int64) (func(), error) {
	unlock := q.lock(u.ID)
	defer unlock()
	if err := q.check(ctx, u, max(size, 0)); err != nil {
		return nil, err
	}
	q.mu.Lock()
	q.inFlight[u.ID] += size
	q.mu.Unlock()
	return func() {
		q.mu.Lock()
		if q.inFlight[u.ID] -= size; q.inFlight[u.ID] <= 0 {
			delete(q.inFlight, u.ID)
		}
		q.mu.Unlock()
	}, nil
}

// pending is what a user is uploading right now on this node.
func (q *quotaGuard) pending(user uint64) int64 {
	q.mu.Lock()
	n := q.inFlight[user]
	q.mu.Unlock()
	if q.volumes == nil {
		return n
	}
	for _, v := range q.volumes.List() {
		paths, _ := filepath.Glob(filepath.Join(tusDir(v), fmt.Sprintf("%d-%d-*.info", v.ID, user)))
		for _, p := range paths {
			if f, err := readTusFile(p); err == nil {
				n += f.Size
			}
		}
	}
	return n
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
