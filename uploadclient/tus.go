package uploadclient

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// tus 1.0 (https://tus.io/protocols/resumable-upload): creation, HEAD for
// the offset, PATCH from the offset.

// fileResult is the outcome of one file's upload. infoHash is empty for a
// file of a folder that is still waiting for others.
type fileResult struct {
	infoHash  string
	duplicate bool
	resumed   bool
}

// errGone means the server no longer knows a remembered upload.
var errGone = errors.New("upload unknown to the server")

// uploadFile sends one file, resuming a remembered upload if there is one.
func (c *Client) uploadFile(ctx context.Context, set *fileSet, f localFile, before int64) (fileResult, error) {
	key := c.stateKey(f)
	loc, offset, res, err := c.resume(ctx, key, f, set.folder != "")
	if errors.Is(err, errGone) {
		return res, err // a file of a folder: the whole folder starts over
	}
	if err != nil || res.infoHash != "" {
		return res, err
	}
	if loc == "" {
		if loc, res, err = c.create(ctx, set, f); err != nil || res.infoHash != "" {
			return res, err
		}
		c.opts.State.Put(key, loc)
	}
	res, err = c.send(ctx, loc, f, offset, before, set.total)
	var se *Error
	if errors.Is(err, errGone) {
		c.opts.State.Forget(key) // Upload starts over
		return res, err
	}
	if errors.As(err, &se) && !transient(se.Status) {
		// Refused for good: the upload can never finish, so free its
		// space on the server now rather than when the server reaps it.
		c.terminate(ctx, loc)
		c.opts.State.Forget(key)
	}
	res.resumed = offset > 0
	return res, err
}

// terminate asks the server to drop an upload (tus termination), once and
// briefly: the server reaps abandoned uploads anyway.
func (c *Client) terminate(ctx context.Context, loc string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	req, err := c.request(ctx, http.MethodDelete, loc, nil)
	if err != nil {
		return
	}
	if resp, err := c.opts.HTTPClient.Do(req); err == nil {
		drain(resp)
	}
}

// resume asks the server about a remembered upload of f: its URL and
// offset, or its result when it already finished.
// A single file the server no longer knows starts afresh; a file of a
// folder returns errGone, since its folder's files must gather again.
func (c *Client) resume(ctx context.Context, key string, f localFile, folder bool) (string, int64, fileResult, error) {
	loc, ok := c.opts.State.Get(key)
	if !ok {
		return "", 0, fileResult{}, nil
	}
	offset, res, err := c.head(ctx, loc)
	if errors.Is(err, errGone) {
		c.opts.State.Forget(key)
		if folder {
			return "", 0, fileResult{}, err
		}
		return "", 0, fileResult{}, nil
	}
	if err != nil {
		return "", 0, res, err
	}
	if offset > f.size {
		return "", 0, res, fmt.Errorf("the server holds %d bytes of a %d-byte file", offset, f.size)
	}
	res.resumed = offset > 0
	return loc, offset, res, nil
}

// create starts a new upload and returns its URL. A zero-length file is
// complete at once, so the creation reply may already name the torrent.
//
// Every try of one creation carries the same Seedbed-Upload-Key: when a
// reply is lost after the server made the upload (a dropped connection, or
// a keep-alive connection that net/http's Transport handed to another
// request whose body failed before this reply was read), the retry gets the
// same upload back instead of making a second one and orphaning the first.
func (c *Client) create(ctx context.Context, set *fileSet, f localFile) (string, fileResult, error) {
	var loc string
	var res fileResult
	key := newUploadKey()
	err := c.retry(ctx, func(ctx context.Context) (bool, error) {
		req, err := c.request(ctx, http.MethodPost, c.base.String()+"/api/v1/uploads/", nil)
		if err != nil {
			return false, err
		}
		req.Header.Set("Seedbed-Upload-Key", key)
		req.Header.Set("Upload-Length", strconv.FormatInt(f.size, 10))
		req.Header.Set("Upload-Metadata", c.metadata(set, f))
		resp, err := c.opts.HTTPClient.Do(req)
		if err != nil {
			return true, err
		}
		defer drain(resp)
		if startOver(resp) { // e.g. the node holding the folder's other files is down
			return false, fmt.Errorf("%w: %w", errGone, replyError(resp))
		}
		if resp.StatusCode != http.StatusCreated {
			return transient(resp.StatusCode), replyError(resp)
		}
		u, err := resp.Location()
		if err != nil {
			return false, fmt.Errorf("creation reply without Location: %w", err)
		}
		loc, res = u.String(), resultOf(resp)
		return false, nil
	})
	return loc, res, err
}

// newUploadKey returns a random creation key (32 hex digits).
func newUploadKey() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (c *Client) metadata(set *fileSet, f localFile) string {
	kv := [][2]string{{"filename", f.rel}, {"title", c.opts.Title}, {"category", c.opts.Category},
		{"description", c.opts.Description}}
	if set.folder != "" {
		kv = append(kv, [2]string{"folder", set.folder}, [2]string{"folder_files", strconv.Itoa(len(set.files))})
	}
	var parts []string
	for _, p := range kv {
		if p[1] != "" {
			parts = append(parts, p[0]+" "+base64.StdEncoding.EncodeToString([]byte(p[1])))
		}
	}
	return strings.Join(parts, ",")
}

// head returns the server's offset of an upload, and its result if the
// upload is finished.
func (c *Client) head(ctx context.Context, loc string) (int64, fileResult, error) {
	var offset int64
	var res fileResult
	err := c.retry(ctx, func(ctx context.Context) (bool, error) {
		req, err := c.request(ctx, http.MethodHead, loc, nil)
		if err != nil {
			return false, err
		}
		resp, err := c.opts.HTTPClient.Do(req)
		if err != nil {
			return true, err
		}
		defer drain(resp)
		switch {
		case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
			return false, errGone
		case resp.StatusCode != http.StatusOK:
			return transient(resp.StatusCode), &Error{Status: resp.StatusCode, Message: "HEAD " + resp.Status}
		}
		offset, err = strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
		if err != nil {
			return false, fmt.Errorf("HEAD reply without Upload-Offset")
		}
		res = resultOf(resp)
		return false, nil
	})
	return offset, res, err
}

// send PATCHes f from offset to its end in chunks. A failed chunk is
// retried from the offset the server reports; Retries failures in a row
// without progress end the upload.
func (c *Client) send(ctx context.Context, loc string, f localFile, offset, before, total int64) (fileResult, error) {
	file, err := os.Open(f.abs)
	if err != nil {
		return fileResult{}, err
	}
	defer file.Close()
	failures, wait := 0, c.opts.Backoff
	for {
		n, res, err := c.patch(ctx, loc, file, offset, min(c.opts.ChunkSize, f.size-offset), before, total)
		if err == nil {
			failures, wait = 0, c.opts.Backoff
			offset = n
			if offset >= f.size {
				return res, nil
			}
			continue
		}
		var se *Error
		if ctx.Err() != nil || errors.Is(err, errGone) || (errors.As(err, &se) && !transient(se.Status)) {
			return fileResult{}, err
		}
		if failures++; failures > c.opts.Retries {
			return fileResult{}, fmt.Errorf("gave up after %d tries: %w", failures, err)
		}
		if err := sleep(ctx, wait); err != nil {
			return fileResult{}, err
		}
		wait = min(wait*2, c.opts.MaxBackoff)
		n, hres, herr := c.head(ctx, loc)
		if herr != nil {
			return fileResult{}, herr
		}
		if hres.infoHash != "" {
			return hres, nil
		}
		if n > offset {
			failures, wait = 0, c.opts.Backoff
		}
		offset = n
		if offset >= f.size {
			return hres, nil // a folder's file: complete, the folder waits for others
		}
	}
}

// patch sends one chunk and returns the new offset.
func (c *Client) patch(ctx context.Context, loc string, file *os.File, offset, n, before, total int64) (int64, fileResult, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ChunkTimeout)
	defer cancel()
	body := &meter{r: io.NewSectionReader(file, offset, n), ctx: ctx, rate: c.opts.RateLimit,
		start: time.Now(), progress: c.opts.Progress, base: before + offset, total: total}
	req, err := c.request(ctx, http.MethodPatch, loc, body)
	if err != nil {
		return 0, fileResult{}, err
	}
	req.ContentLength = n
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", strconv.FormatInt(offset, 10))
	resp, err := c.opts.HTTPClient.Do(req)
	if err != nil {
		return 0, fileResult{}, err
	}
	defer drain(resp)
	if resp.StatusCode == http.StatusNotFound || startOver(resp) {
		return 0, fileResult{}, fmt.Errorf("%w: %w", errGone, replyError(resp))
	}
	if resp.StatusCode != http.StatusNoContent {
		return 0, fileResult{}, replyError(resp)
	}
	next, err := strconv.ParseInt(resp.Header.Get("Upload-Offset"), 10, 64)
	if err != nil {
		return 0, fileResult{}, &Error{Status: 502, Message: "PATCH reply without Upload-Offset"}
	}
	return next, resultOf(resp), nil
}

// startOver tells whether the server lost an upload and asks for a new one
// (410 with Seedbed-Upload-Restart: the node holding it is down), unlike a
// 410 that refuses the content itself.
func startOver(resp *http.Response) bool {
	return resp.StatusCode == http.StatusGone && resp.Header.Get("Seedbed-Upload-Restart") == "true"
}

func resultOf(resp *http.Response) fileResult {
	return fileResult{
		infoHash:  resp.Header.Get("Seedbed-Info-Hash"),
		duplicate: resp.Header.Get("Seedbed-Duplicate") == "true",
	}
}

// drain reads the rest of a reply so its connection can be reused.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// meter reports progress and caps the rate of a request body.
type meter struct {
	r        io.Reader
	ctx      context.Context
	rate     int64
	start    time.Time
	read     int64
	progress func(sent, total int64)
	base     int64
	total    int64
}

func (m *meter) Read(p []byte) (int, error) {
	if m.rate > 0 {
		p = p[:min(int64(len(p)), max(m.rate/20, 1))]
	}
	n, err := m.r.Read(p)
	m.read += int64(n)
	if m.progress != nil && n > 0 {
		m.progress(m.base+m.read, m.total)
	}
	if m.rate > 0 {
		due := time.Duration(float64(m.read) / float64(m.rate) * float64(time.Second))
		if d := due - time.Since(m.start); d > 0 {
			if serr := sleep(m.ctx, d); serr != nil && err == nil {
				err = serr
			}
		}
	}
	return n, err
}
