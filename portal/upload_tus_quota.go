package portal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
)

// quotaGuard checks per-user and per-group storage quotas before an upload's
// first byte is accepted. Used space is the active torrents a user (or the
// user's group) uploaded, plus the uploads in progress on every node:
// resumable uploads not finished yet and multipart requests being received,
// each recorded as a reservation in the catalog (catalog.ReserveUpload checks
// and reserves in one transaction, with the user's and the group's rows
// locked), so two nodes cannot together overshoot a dormitory's quota. A
// reservation is released when its upload finishes, is terminated or is
// swept (ServeUploadReservationSweeps).
type quotaGuard struct {
	catalog      *catalog.Catalog
	log          *slog.Logger
	node         string
	defaultQuota int64     // per user, when the user has none; 0: no limit
	started      time.Time // multipart reservations of this node older than this died with a crash

	mu     sync.Mutex
	scopes map[string]*sync.Mutex // serializes a user's (or group's) creations in this process
}

func newQuotaGuard(c *catalog.Catalog, log *slog.Logger, node string, def int64) *quotaGuard {
	return &quotaGuard{catalog: c, log: log, node: node, defaultQuota: def, started: time.Now(),
		scopes: make(map[string]*sync.Mutex)}
}

// lock serializes the creations of a user's scope in this process (the
// user's group when the user is in one, else the user alone), so that a
// retried keyed creation finds the upload its first try made. It returns
// the unlock. Quotas themselves are guarded by the catalog's transaction.
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

// reserveUpload records r if it fits in its user's and group's quotas, and
// refuses it with a 413 that says which quota and by how much otherwise.
func (q *quotaGuard) reserveUpload(ctx context.Context, r catalog.UploadReservation) error {
	r.Node = q.node
	err := q.catalog.ReserveUpload(ctx, r, q.defaultQuota)
	var qe *catalog.QuotaError
	if errors.As(err, &qe) {
		whose := "your"
		if qe.Group != "" {
			whose = "your group " + qe.Group + "'s"
		}
		return overQuota(whose, qe.Limit, qe.Used, qe.Size)
	}
	if err != nil {
		return fmt.Errorf("quota: %w", err)
	}
	return nil
}

func overQuota(whose string, limit, used, size int64) error {
	return echo.NewHTTPError(http.StatusRequestEntityTooLarge, fmt.Sprintf(
		"over quota: this upload (%s) does not fit in %s storage quota of %s (%s used, %s free)",
		humanBytes(size), whose, humanBytes(limit), humanBytes(used), humanBytes(max(limit-used, 0))))
}

// multipartPrefix starts the reservation IDs of multipart requests.
const multipartPrefix = "m-"

// reserve checks a multipart upload of size bytes and counts it as in flight
// until the returned release is called.
func (q *quotaGuard) reserve(ctx context.Context, u *catalog.User, size int64) (func(), error) {
	var b [16]byte
	rand.Read(b[:])
	id := multipartPrefix + hex.EncodeToString(b[:])
	if err := q.reserveUpload(ctx, catalog.UploadReservation{UploadID: id, UserID: u.ID, Size: max(size, 0)}); err != nil {
		return nil, err
	}
	return func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := q.catalog.ReleaseUploads(rctx, id); err != nil {
			q.log.Warn("release multipart reservation", "id", id, "err", err)
		}
	}, nil
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
