package portal

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/ingest"
	"github.com/seedbed/seedbed/multipart"
	"github.com/seedbed/seedbed/publish"
	"github.com/seedbed/seedbed/seedbox"
)

const maxFieldBytes = 64 << 10

// apiTorrentCreate is POST /api/v1/torrents: a multipart upload of one or
// more `file` parts (a part's filename may be a relative path, for folders)
// and optional name, title, category, description fields. The parts are
// streamed to the volume and hashed on the way; nothing is buffered whole.
func (a *App) apiTorrentCreate(c echo.Context) error {
	r := c.Request()
	if a.opts.MaxUploadSize > 0 {
		r.Body = http.MaxBytesReader(c.Response(), r.Body, a.opts.MaxUploadSize)
	}
	mr, err := multipartReader(r)
	if err != nil {
		return err
	}
	// Quotas are checked against Content-Length before the first byte is read.
	release, err := a.quota.reserve(r.Context(), currentUser(c), r.ContentLength)
	if err != nil {
		return err
	}
	defer release()
	// Content-Length (a client's claim) only picks the first pass's piece
	// length; ingest re-hashes if the real size disagrees.
	expected := r.ContentLength
	if a.opts.MaxUploadSize > 0 {
		expected = min(expected, a.opts.MaxUploadSize)
	}
	st, err := a.opts.Publisher.Begin(expected)
	if err != nil {
		if errors.Is(err, seedbox.ErrNoVolume) {
			return echo.NewHTTPError(http.StatusInsufficientStorage, "no storage volume can take new uploads right now")
		}
		return err
	}
	meta := publish.Meta{UploaderID: currentUser(c).ID}
	if err := readParts(mr, st, &meta); err != nil {
		st.Abort()
		return err
	}
	out, err := a.opts.Publisher.Commit(r.Context(), st, meta)
	if errors.Is(err, ingest.ErrBadName) || errors.Is(err, ingest.ErrEmpty) {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error())
	}
	if err != nil {
		return err
	}
	if out.Torrent.State == "deleted" {
		return echo.NewHTTPError(http.StatusGone, "this content was deleted from Seedbed and cannot be shared again")
	}
	obj, err := a.object(r.Context(), out.Torrent, currentUser(c))
	if err != nil {
		return err
	}
	obj.Duplicate = out.Duplicate
	code := http.StatusCreated
	if out.Duplicate {
		code = http.StatusOK
	}
	return c.JSON(code, obj)
}

// multipartReader streams the body with Seedbed's multipart reader, which
// drains the socket in large reads and hands out large chunks.
func multipartReader(r *http.Request) (*multipart.Reader, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err == nil && mt == "multipart/form-data" {
		if mr, err := multipart.NewReader(r.Body, params["boundary"]); err == nil {
			return mr, nil
		}
	}
	return nil, echo.NewHTTPError(http.StatusBadRequest, "send multipart/form-data with one or more file parts")
}

// readParts streams every file part into the staged upload and collects the
// text fields.
func readParts(mr *multipart.Reader, st *publish.Staged, meta *publish.Meta) error {
	files := 0
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return badBody(err)
		}
		switch part.FormName() {
		case "file":
			name := part.FileName()
			if name == "" {
				return echo.NewHTTPError(http.StatusBadRequest, "a file part has no filename")
			}
			if _, err := st.AddFile(name, part); err != nil {
				if errors.Is(err, ingest.ErrBadName) {
					return echo.NewHTTPError(http.StatusBadRequest, err.Error())
				}
				return badBody(err)
			}
			files++
		case "name", "title", "category", "description":
			b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err != nil {
				return badBody(err)
			}
			if len(b) > maxFieldBytes {
				return echo.NewHTTPError(http.StatusBadRequest, part.FormName()+" is too long")
			}
			setField(meta, part.FormName(), strings.TrimSpace(string(b)))
		}
	}
	if files == 0 {
		return echo.NewHTTPError(http.StatusBadRequest, "no file parts: send the content as multipart parts named file")
	}
	return nil
}

func setField(m *publish.Meta, name, v string) {
	switch name {
	case "name":
		m.Name = v
	case "title":
		m.Title = v
	case "category":
		m.Category = v
	case "description":
		m.Description = v
	}
}

func badBody(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "the upload is larger than this server accepts")
	}
	return echo.NewHTTPError(http.StatusBadRequest, "upload interrupted or malformed: "+err.Error())
}

func (a *App) apiTorrentGet(c echo.Context) error {
	t, err := a.findTorrent(c.Request().Context(), c.Param("ih"))
	if err != nil {
		return err
	}
	obj, err := a.object(c.Request().Context(), t, currentUser(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, obj)
}

type dedupeReply struct {
	Match   bool           `json:"match"`
	Torrent *TorrentObject `json:"torrent,omitempty"`
}

// apiDedupe answers "is this already here?" from size and the MD5 of the
// first 10 MiB, before any byte is uploaded.
func (a *App) apiDedupe(c echo.Context) error {
	ctx := c.Request().Context()
	size, err := strconv.ParseInt(c.QueryParam("size"), 10, 64)
	md5 := strings.ToLower(c.QueryParam("md5_10m"))
	if err != nil || size < 0 || len(md5) != 32 || strings.Trim(md5, "0123456789abcdef") != "" {
		return echo.NewHTTPError(http.StatusBadRequest, "need size (bytes) and md5_10m (32 hex)")
	}
	cands, err := a.opts.Catalog.DedupeCandidates(ctx, size, md5)
	if err != nil {
		return err
	}
	for i := range cands {
		if cands[i].State == "deleted" {
			continue
		}
		t, err := a.opts.Catalog.TorrentByInfoHash(ctx, cands[i].InfoHash)
		if err != nil {
			return err
		}
		obj, err := a.object(ctx, t, currentUser(c))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, dedupeReply{Match: true, Torrent: &obj})
	}
	return c.JSON(http.StatusOK, dedupeReply{Match: false})
}
