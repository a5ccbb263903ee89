package portal

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/seedbox"
)

// quotaGuard checks per-user and per-group storage quotas before an upload's
// first byte is accepted. Used space is the active torrents a user (or the
// user's group) uploaded, plus this node's uploads in progress: resumable
// uploads not finished yet and multipart requests being received. A group's
// in-progress uploads are those of every member, and the check-and-reserve
// steps of a group's members are serialized, so two students of one dorm
// cannot together overshoot the dorm's quota.
type quotaGuard struct {
	catalog      *catalog.Catalog
	volumes      *seedbox.Volumes
	defaultQuota int64 // per user, when the user has none; 0: no limit

	mu       sync.Mutex
	scopes   map[string]*sync.Mutex // serializes check-and-reserve per user or group
	inFlight map[uint64]int64       // multipart bytes being received, per user
}

func newQuotaGuard(c *catalog.Catalog, vs *seedbox.Volumes, def int64) *quotaGuard {
	return &quotaGuard{catalog: c, volumes: vs, defaultQuota: def,
		scopes: make(map[string]*sync.Mutex), inFlight: make(map[uint64]int64)}
}

// lock serializes the quota checks of a user's scope: the user's group when
// the user is in one, else the user alone. It returns the unlock.
func (q *quotaGuard) lock(ctx context.Context, user uint64) (func(), error) {
	key := "u" + strconv.FormatUint(user, 10)
	if q.catalog != nil {
		g, err := q.catalog.UserGroupID(ctx, user)
		if err != nil {
			return nil, fmt.Errorf("quota: %w", err)
		}
		if g != 0 {
			key = "g" + strconv.FormatUint(g, 10)
		}
	}
	q.mu.Lock()
	m := q.scopes[key]
	if m == nil {
		m = new(sync.Mutex)
		q.scopes[key] = m
	}
	q.mu.Unlock()
	m.Lock()
	return m.Unlock, nil
}

// check refuses an upload of size more bytes with a 413 and a message that
// says which quota and by how much. The caller holds the user's lock.
func (q *quotaGuard) check(ctx context.Context, u *catalog.User, size int64) error {
	use, err := q.catalog.Usage(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("quota: %w", err)
	}
	users := append([]uint64{u.ID}, use.GroupMembers...)
	pending := q.pending(users)
	limit := q.defaultQuota
	if use.UserQuota != nil {
		limit = *use.UserQuota
	}
	if used := use.UserUsed + pending[u.ID]; limit > 0 && used+size > limit {
		return overQuota("your", limit, used, size)
	}
	if use.GroupQuota == nil {
		return nil
	}
	groupPending := int64(0)
	for _, m := range use.GroupMembers {
		groupPending += pending[m]
	}
	if used := use.GroupUsed + groupPending; used+size > *use.GroupQuota {
		return overQuota("your group "+use.GroupName+"'s", *use.GroupQuota, used, size)
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
	unlock, err := q.lock(ctx, u.ID)
	if err != nil {
		return nil, err
	}
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

// pending is what each of users is uploading right now on this node:
// multipart requests being received and resumable uploads not finished.
func (q *quotaGuard) pending(users []uint64) map[uint64]int64 {
	out := make(map[uint64]int64, len(users))
	q.mu.Lock()
	for _, u := range users {
		out[u] = q.inFlight[u]
	}
	q.mu.Unlock()
	if q.volumes == nil {
		return out
	}
	for _, v := range q.volumes.List() {
		paths, _ := filepath.Glob(filepath.Join(tusDir(v), "*.info"))
		for _, p := range paths {
			id, err := parseTusID(strings.TrimSuffix(filepath.Base(p), ".info"))
			if err != nil || id.Volume != v.ID {
				continue
			}
			if _, ok := out[id.User]; !ok {
				continue
			}
			if f, err := readTusFile(p); err == nil {
				out[id.User] += f.Size
			}
		}
	}
	return out
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
