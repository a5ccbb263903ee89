package portal

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/tus/tusd/v2/pkg/handler"
	xslog "golang.org/x/exp/slog"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/ingest"
	"github.com/seedbed/seedbed/seedbox"
)

// tusBasePath is where the tus 1.0 resumable upload endpoint lives.
const tusBasePath = "/api/v1/uploads/"

// Response headers of the request that completed an upload (and of later
// HEAD and PATCH requests on it), naming the torrent it became.
const (
	headerInfoHash        = "Seedbed-Info-Hash"
	headerDuplicate       = "Seedbed-Duplicate"
	headerFolderRemaining = "Seedbed-Folder-Remaining"
)

// Upload metadata keys (tus Upload-Metadata).
const (
	metaFilename    = "filename"
	metaTitle       = "title"
	metaCategory    = "category"
	metaDescription = "description"
	metaName        = "name"
	metaFolder      = "folder"
	metaFolderFiles = "folder_files"
)

// maxFolderFiles bounds folder_files.
const maxFolderFiles = 10000

type ctxKey int

const tusUserKey ctxKey = 1

// tusUploads is the tus endpoint: tusd's handler behind Seedbed's own
// authentication, ownership check and finished-upload records.
type tusUploads struct {
	app     *App
	store   tusStore
	tusd    *handler.Handler
	folders folderLocks
}

func (a *App) newTusUploads() (*tusUploads, error) {
	t := &tusUploads{app: a, store: tusStore{volumes: a.opts.Volumes}}
	h, err := handler.NewHandler(handler.Config{
		BasePath:                  tusBasePath,
		StoreComposer:             t.store.composer(),
		MaxSize:                   a.opts.MaxUploadSize,
		DisableDownload:           true,
		DisableConcatenation:      true,
		Cors:                      &handler.CorsConfig{Disable: true},
		PreUploadCreateCallback:   t.beforeCreate,
		PreFinishResponseCallback: t.beforeFinishResponse,
		// tusd logs every request at info level with its own slog package.
		Logger: xslog.New(xslog.NewTextHandler(os.Stderr, &xslog.HandlerOptions{Level: xslog.LevelWarn})),
	})
	if err != nil {
		return nil, fmt.Errorf("tus handler: %w", err)
	}
	t.tusd = h
	return t, nil
}

// mount routes the tus endpoint in echo. Its requests bypass body limits,
// compression and the form CSRF check (skipCSRF): they carry the CSRF token
// in a header, checked here.
func (t *tusUploads) mount(e *echo.Echo) {
	h := echo.WrapHandler(http.StripPrefix(strings.TrimSuffix(tusBasePath, "/"), t))
	e.Any(strings.TrimSuffix(tusBasePath, "/"), h, requireUser, withTusUser)
	e.Any(tusBasePath+"*", h, requireUser, withTusUser)
}

// isTusPath tells whether a request goes to the tus endpoint.
func isTusPath(p string) bool {
	return p == strings.TrimSuffix(tusBasePath, "/") || strings.HasPrefix(p, tusBasePath)
}

// ServeHTTP runs after echo authenticated the request (the user is in the
// echo context, copied into the request context by the route wrapper).
func (t *tusUploads) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u, _ := r.Context().Value(tusUserKey).(*catalog.User)
	if u == nil {
		writeJSONError(w, http.StatusUnauthorized, "sign in or send Authorization: Bearer <token>")
		return
	}
	if !csrfOK(r) {
		writeJSONError(w, http.StatusForbidden, "missing or stale X-CSRF-Token header: reload the page and try again")
		return
	}
	id := strings.Trim(r.URL.Path, "/")
	if id == "" {
		t.create(w, r, u)
		return
	}
	tid, err := parseTusID(id)
	if err != nil || tid.User != u.ID {
		writeJSONError(w, http.StatusNotFound, "no such upload")
		return
	}
	if t.routeUpload(w, r, tid) || t.answerFinished(w, r, tid) {
		return
	}
	t.tusd.ServeHTTP(w, r)
	t.afterRequest(r, tid)
}

// create serializes a user's (or group's) upload creations so that the
// quota check and the new upload's reservation (its .info file) are one
// step, and a retried keyed creation finds the upload its first try made.
func (t *tusUploads) create(w http.ResponseWriter, r *http.Request, u *catalog.User) {
	if r.Method == http.MethodPost {
		n, err := strconv.ParseInt(r.Header.Get("Upload-Length"), 10, 64)
		if limit := t.app.opts.MaxUploadSize; err == nil && limit > 0 && n > limit {
			writeJSONError(w, http.StatusRequestEntityTooLarge, "the upload is larger than this server accepts ("+humanBytes(limit)+")")
			return
		}
	}
	rnd, err := creationKey(r, u.ID)
	if err != nil {
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	unlock, err := t.app.quota.lock(r.Context(), u.ID)
	if err != nil {
		t.app.log.Error("tus create", "err", err)
		writeJSONError(w, http.StatusInternalServerError, "could not check your storage quota")
		return
	}
	defer unlock()
	if t.routeCreation(w, r, u, rnd) {
		return
	}
	if rnd != "" && r.Method == http.MethodPost {
		if t.createOnce(w, r, u, rnd) {
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), tusKeyCtx, rnd))
	}
	t.tusd.ServeHTTP(w, r)
}

// csrfOK applies the portal's CSRF rule (echo's CSRF middleware) to a
// cookie-authenticated state-changing request: a browser that sends
// Sec-Fetch-Site must say same-origin; otherwise the X-CSRF-Token header must
// match the CSRF cookie. Bearer requests cannot be forged by another site.
func csrfOK(r *http.Request) bool {
	if strings.HasPrefix(r.Header.Get(echo.HeaderAuthorization), "Bearer ") {
		return true
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	switch r.Header.Get(echo.HeaderSecFetchSite) {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	ck, err := r.Cookie("seedbed_csrf")
	hdr := r.Header.Get("X-CSRF-Token")
	return err == nil && hdr != "" && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(hdr)) == 1
}

// beforeCreate validates a new upload and checks quotas before any byte is
// accepted; it names the upload (volume, owner, folder).
func (t *tusUploads) beforeCreate(ev handler.HookEvent) (handler.HTTPResponse, handler.FileInfoChanges, error) {
	u, _ := ev.Context.Value(tusUserKey).(*catalog.User)
	if u == nil {
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, tusError(http.StatusUnauthorized, "not signed in")
	}
	info := ev.Upload
	if info.SizeIsDeferred {
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, tusError(http.StatusBadRequest, "send Upload-Length: the size must be known before the upload starts")
	}
	folder, err := checkTusMeta(info.MetaData)
	if err != nil {
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, err
	}
	v, err := t.volumeFor(ev.Context, folder, u.ID, info.Size)
	if err != nil {
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, asTusError(err)
	}
	id := newTusID(v.ID, u.ID, folder)
	rnd := keyedRand(ev.Context)
	if rnd != "" {
		id.Rand = rnd
	}
	if err := t.reserve(ev.Context, id, u.ID, rnd, info.Size); err != nil {
		return handler.HTTPResponse{}, handler.FileInfoChanges{}, err
	}
	return handler.HTTPResponse{}, handler.FileInfoChanges{ID: id.String()}, nil
}

// checkTusMeta validates the metadata of a new upload and returns its folder
// id ("" for a single upload).
func checkTusMeta(meta handler.MetaData) (string, error) {
	name := meta[metaFilename]
	if name == "" {
		return "", tusError(http.StatusBadRequest, "metadata filename is required")
	}
	if _, err := ingest.SanitizePath(name); err != nil {
		return "", tusError(http.StatusBadRequest, err.Error())
	}
	for _, k := range []string{metaTitle, metaCategory, metaDescription, metaName} {
		if len(meta[k]) > maxFieldBytes {
			return "", tusError(http.StatusBadRequest, "metadata "+k+" is too long")
		}
	}
	folder := meta[metaFolder]
	if folder == "" {
		return "", nil
	}
	if len(folder) > 200 {
		return "", tusError(http.StatusBadRequest, "metadata folder is too long")
	}
	n, err := strconv.Atoi(meta[metaFolderFiles])
	if err != nil || n < 1 || n > maxFolderFiles {
		return "", tusError(http.StatusBadRequest, fmt.Sprintf("metadata folder_files must be a number from 1 to %d", maxFolderFiles))
	}
	return folder, nil
}

// volumeFor places a new upload: the files of one folder share the volume of
// the first of them, so the folder can be assembled by renames.
func (t *tusUploads) volumeFor(ctx context.Context, folder string, user uint64, size int64) (seedbox.Volume, error) {
	if t.app.opts.Volumes == nil {
		return seedbox.Volume{}, seedbox.ErrNoVolume
	}
	if folder != "" {
		probe := newTusID(0, user, folder)
		if res, err := t.app.opts.Catalog.UploadFolderReservation(ctx, user, probe.Folder); err == nil {
			if v, ok := t.volume(res.VolumeID); ok {
				return v, nil
			}
		}
		for _, v := range t.app.opts.Volumes.List() {
			probe.Volume = v.ID
			if matches, _ := globSiblings(tusDir(v), probe); len(matches) > 0 {
				return v, nil
			}
		}
	}
	return t.app.opts.Volumes.Place(size)
}

// tusError is a tusd error whose body is Seedbed's JSON error.
func tusError(code int, msg string) handler.Error {
	body, _ := json.Marshal(apiError{Error: msg})
	return handler.Error{
		ErrorCode: "ERR_SEEDBED",
		Message:   msg,
		HTTPResponse: handler.HTTPResponse{
			StatusCode: code,
			Body:       string(body),
			Header:     handler.HTTPHeader{"Content-Type": "application/json; charset=utf-8"},
		},
	}
}

// asTusError maps errors of the quota check, placement and commit to replies.
func asTusError(err error) error {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		msg, _ := he.Message.(string)
		return tusError(he.Code, msg)
	case errors.Is(err, seedbox.ErrNoVolume):
		return tusError(http.StatusInsufficientStorage, "no storage volume can take new uploads right now")
	case errors.Is(err, ingest.ErrBadName), errors.Is(err, ingest.ErrEmpty):
		return tusError(http.StatusBadRequest, err.Error())
	}
	return err
}

func writeJSONError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Tus-Resumable", "1.0.0")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(apiError{Error: msg})
}

// withTusUser copies the signed-in user into the request context, where the
// tus hooks find it.
func withTusUser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if u := currentUser(c); u != nil {
			r := c.Request()
			c.SetRequest(r.WithContext(context.WithValue(r.Context(), tusUserKey, u)))
		}
		return next(c)
	}
}
