package portal

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"

	"github.com/seedbed/seedbed/catalog"
)

// headerUploadKey makes a tus creation idempotent. tus 1.0 has no such
// header: a client whose creation reply was lost (a dropped connection, a
// timeout) cannot tell whether the upload exists, and a retried POST would
// make a second upload and orphan the first. A client that sends the same
// Seedbed-Upload-Key (8 to 64 letters, digits, '-' or '_', chosen at random
// per file) on every try of one creation gets the upload the first try made.
const headerUploadKey = "Seedbed-Upload-Key"

const tusKeyCtx ctxKey = 2

// creationKey returns the random part of the ID the upload created with the
// request's Seedbed-Upload-Key gets ("" without a key), or an error for a
// malformed key. The part is a hash of the user and the key, so nobody can
// aim at another user's upload.
func creationKey(r *http.Request, user uint64) (string, error) {
	key := r.Header.Get(headerUploadKey)
	if key == "" {
		return "", nil
	}
	if len(key) < 8 || len(key) > 64 {
		return "", fmt.Errorf("%s must be 8 to 64 characters long", headerUploadKey)
	}
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return "", fmt.Errorf("%s may hold only letters, digits, '-' and '_'", headerUploadKey)
		}
	}
	h := sha256.Sum256([]byte("seedbed-upload-key/" + strconv.FormatUint(user, 10) + "/" + key))
	return hex.EncodeToString(h[:16]), nil
}

// createOnce answers a keyed creation whose upload already exists with that
// upload, as the first reply would have; it reports whether it answered.
// Creations of one user are serialized (the quota lock), so two tries of
// one creation never both make an upload.
func (t *tusUploads) createOnce(w http.ResponseWriter, r *http.Request, u *catalog.User, rnd string) bool {
	if t.app.opts.Volumes == nil {
		return false
	}
	for _, v := range t.app.opts.Volumes.List() {
		dir := tusDir(v)
		for _, suffix := range []string{".info", ".done"} {
			paths, _ := filepath.Glob(filepath.Join(dir, fmt.Sprintf("%d-%d-*-%s%s", v.ID, u.ID, rnd, suffix)))
			if len(paths) == 0 {
				continue
			}
			id, err := parseTusID(filepath.Base(paths[0])[:len(filepath.Base(paths[0]))-len(suffix)])
			if err != nil {
				continue
			}
			t.answerExisting(w, r, dir, id, suffix == ".done")
			return true
		}
	}
	return false
}

// answerExisting replies 201 with the Location of an upload a keyed
// creation made before, and its result when it is already finished.
func (t *tusUploads) answerExisting(w http.ResponseWriter, r *http.Request, dir string, id tusID, finished bool) {
	length := r.Header.Get("Upload-Length")
	if !finished {
		if f, err := readTusFile(filepath.Join(dir, id.String()+".info")); err == nil && strconv.FormatInt(f.Size, 10) != length {
			writeJSONError(w, http.StatusUnprocessableEntity, headerUploadKey+" was already used for an upload of another length")
			return
		}
	}
	h := w.Header()
	if finished {
		if rec, err := readDone(dir, id); err == nil && rec.Error == "" {
			h.Set(headerInfoHash, rec.InfoHash)
			h.Set(headerDuplicate, strconv.FormatBool(rec.Duplicate))
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	h.Set("Location", scheme+"://"+r.Host+tusBasePath+id.String())
	h.Set("Tus-Resumable", "1.0.0")
	w.WriteHeader(http.StatusCreated)
}

// keyedRand returns the random part a keyed creation's ID must have ("":
// none), from the request context.
func keyedRand(ctx context.Context) string {
	s, _ := ctx.Value(tusKeyCtx).(string)
	return s
}
