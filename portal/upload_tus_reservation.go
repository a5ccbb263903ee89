package portal

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seedbed/seedbed/catalog"
)

// Reservations of resumable uploads in the catalog (see quotaGuard): made
// when an upload is created, touched by every PATCH, released when the
// upload finishes (finish), is terminated (afterRequest) or is swept
// (sweepReservations).

// reservationGrace is how long a reservation may exist before its upload's
// files do: tusd writes them just after the creation hook reserved.
const reservationGrace = time.Minute

// reserve records a new upload's reservation, or refuses the creation: 413
// over a quota, 503 (retry) when another node is creating the same keyed
// upload or another file of its folder right now.
func (t *tusUploads) reserve(ctx context.Context, id tusID, user uint64, rnd string, size int64) error {
	r := catalog.UploadReservation{UploadID: id.String(), UserID: user, VolumeID: id.Volume, Key: rnd, Size: size}
	if id.Folder != "s" {
		r.Folder = id.Folder
	}
	err := t.app.quota.reserveUpload(ctx, r)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, catalog.ErrFolderElsewhere), errors.Is(err, catalog.ErrConflict):
		e := tusError(http.StatusServiceUnavailable, "this upload, or another file of its folder, is being created on another node right now: retry")
		e.HTTPResponse.Header["Retry-After"] = "1"
		return e
	}
	return asTusError(err)
}

// afterRequest keeps the catalog's reservation in step with what tusd did:
// a PATCH is progress (the reservation does not expire), a DELETE that
// removed the upload frees its bytes.
func (t *tusUploads) afterRequest(r *http.Request, tid tusID) {
	cat := t.app.opts.Catalog
	if cat == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 30*time.Second)
	defer cancel()
	var err error
	switch r.Method {
	case http.MethodPatch:
		err = cat.TouchUpload(ctx, tid.String())
	case http.MethodDelete:
		if t.uploadGone(tid) {
			err = cat.ReleaseUploads(ctx, tid.String())
		}
	}
	if err != nil {
		t.app.log.Warn("update upload reservation", "id", tid, "method", r.Method, "err", err)
	}
}

// uploadGone tells whether a local upload has no .info file (any more).
func (t *tusUploads) uploadGone(tid tusID) bool {
	dir, err := t.store.dir(tid.Volume)
	if err != nil {
		return true
	}
	_, err = os.Stat(filepath.Join(dir, tid.String()+".info"))
	return errors.Is(err, os.ErrNotExist)
}

// releaseFinished frees the reservations of the uploads that became a
// torrent (or failed for good); the sweep retries a failed release.
func (t *tusUploads) releaseFinished(ctx context.Context, files []tusFile) {
	if t.app.opts.Catalog == nil {
		return
	}
	ids := make([]string, len(files))
	for i, f := range files {
		ids[i] = f.ID
	}
	if err := t.app.opts.Catalog.ReleaseUploads(ctx, ids...); err != nil {
		t.app.log.Warn("release finished uploads", "ids", ids, "err", err)
	}
}

// sweepReservations (at time now) expires every node's reservations whose upload made no
// progress for maxAge (a node that died leaves its reservations behind; a
// live node's sweep removes such uploads at the same age), and releases
// this node's reservations whose upload is gone: swept, lost to a crash, or
// a multipart request of an earlier run of this process.
func (t *tusUploads) sweepReservations(ctx context.Context, now time.Time, maxAge time.Duration) (int, error) {
	cat := t.app.opts.Catalog
	expired, err := cat.ExpireUploadReservations(ctx, now.Add(-maxAge))
	if err != nil {
		return 0, err
	}
	rs, err := cat.UploadReservations(ctx, t.app.opts.Node)
	if err != nil {
		return int(expired), err
	}
	var gone []string
	for _, r := range rs {
		switch {
		case now.Sub(r.CreatedAt) < reservationGrace:
		case r.VolumeID == 0:
			if strings.HasPrefix(r.UploadID, multipartPrefix) && r.CreatedAt.Before(t.app.quota.started) {
				gone = append(gone, r.UploadID)
			}
		default:
			if tid, err := parseTusID(r.UploadID); err != nil || t.uploadGone(tid) {
				gone = append(gone, r.UploadID)
			}
		}
	}
	if err := cat.ReleaseUploads(ctx, gone...); err != nil {
		return int(expired), err
	}
	return int(expired) + len(gone), nil
}

// ServeUploadReservationSweeps runs sweepReservations every interval until
// ctx ends. maxAge should be the age after which abandoned uploads are
// removed (portal.upload_max_age).
func (a *App) ServeUploadReservationSweeps(ctx context.Context, maxAge, interval time.Duration) error {
	if a.opts.Catalog == nil || maxAge <= 0 {
		return nil
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if n, err := a.tus.sweepReservations(ctx, time.Now(), maxAge); err != nil && ctx.Err() == nil {
			a.log.Warn("sweep upload reservations", "err", err)
		} else if n > 0 {
			a.log.Info("released reservations of abandoned uploads", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}
