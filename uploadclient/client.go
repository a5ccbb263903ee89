// Package uploadclient uploads files and folders to a Seedbed server over
// its tus 1.0 resumable upload endpoint (/api/v1/uploads/), the way
// `seedbed upload` does: every file is one tus upload; the files of a folder
// share the metadata `folder` and `folder_files`, and the server makes the
// torrent when the last of them completes. Uploads resume where they
// stopped, after a dropped connection, a server restart or a new run of the
// program (upload URLs are remembered in a state file). Network failures are
// retried a bounded number of times with exponential backoff; every request
// has a deadline, so nothing hangs.
package uploadclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Options configure a Client. Zero values take the documented defaults.
type Options struct {
	Server string // base URL, like http://127.0.0.1:8080
	Token  string // API token (Authorization: Bearer)
	// HTTPClient sends every request; default: a client of its own.
	HTTPClient *http.Client
	// ChunkSize is the most bytes one PATCH request carries; default 16 MiB.
	ChunkSize int64
	// Retries is how many times in a row a failed request is tried again
	// before the upload fails; default 5. Progress resets the count.
	Retries int
	// Backoff is the first wait before a retry, doubled each time up to
	// MaxBackoff; defaults 500 ms and 8 s.
	Backoff, MaxBackoff time.Duration
	// RequestTimeout bounds a request without a body and the wait for a
	// reply after a chunk was sent; default 2 minutes. A chunk's own
	// transfer is bounded by ChunkTimeout (default 10 minutes).
	RequestTimeout, ChunkTimeout time.Duration
	// RateLimit caps the upload speed in bytes per second; 0: no cap.
	RateLimit int64
	// State remembers upload URLs across runs; nil: only within this run.
	State *State
	// Progress, if set, is called as bytes are sent (sent and total of the
	// current path).
	Progress func(sent, total int64)
	// Fields of the torrent.
	Title, Category, Description string
}

// Client uploads to one server.
type Client struct {
	opts Options
	base *url.URL
}

// Result is what one uploaded path became.
type Result struct {
	InfoHash  string
	Duplicate bool
	Torrent   Torrent
	Resumed   bool // some bytes had been sent by an earlier attempt
}

// Torrent is the part of the server's torrent object the client reports.
type Torrent struct {
	InfoHash string `json:"info_hash"`
	Name     string `json:"name"`
	Size     int64  `json:"size"`
	PageURL  string `json:"page_url"`
	Magnet   string `json:"magnet"`
}

// Error is a refusal by the server (a 4xx reply other than a transient
// one): retrying cannot help.
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("server refused the upload (HTTP %d): %s", e.Status, e.Message)
}

// New checks the options and returns a Client.
func New(opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(opts.Server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server %q: need an http:// or https:// URL", opts.Server)
	}
	if opts.Token == "" {
		return nil, errors.New("an API token is required (seedbed token create NAME)")
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 16 << 20
	}
	if opts.Retries <= 0 {
		opts.Retries = 5
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 8 * time.Second
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 2 * time.Minute
	}
	if opts.ChunkTimeout <= 0 {
		opts.ChunkTimeout = 10 * time.Minute
	}
	if opts.State == nil {
		opts.State = MemoryState()
	}
	return &Client{opts: opts, base: u}, nil
}

// maxRestarts bounds how often one Upload starts over because the server
// lost an upload (its node went down).
const maxRestarts = 3

// Upload sends a file or a folder and returns the torrent it became. When
// the server answers that an upload in progress is gone (404 or 410: the
// node holding it is down, or it was swept), the file or folder starts over
// from its first byte, at most maxRestarts times.
func (c *Client) Upload(ctx context.Context, path string) (*Result, error) {
	set, err := collect(path)
	if err != nil {
		return nil, err
	}
	for restarts := 0; ; restarts++ {
		res, err := c.uploadSet(ctx, path, set)
		if !errors.Is(err, errGone) || restarts == maxRestarts {
			return res, err
		}
		for _, f := range set.files {
			c.opts.State.Forget(c.stateKey(f))
		}
		set.restart(restarts + 1)
	}
}

// uploadSet sends the files of one path argument.
func (c *Client) uploadSet(ctx context.Context, path string, set *fileSet) (*Result, error) {
	var res *Result
	var sent int64
	resumed := false
	for i, f := range set.files {
		r, err := c.uploadFile(ctx, set, f, sent)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.rel, err)
		}
		sent += f.size
		resumed = resumed || r.resumed
		if r.infoHash != "" {
			res = &Result{InfoHash: r.infoHash, Duplicate: r.duplicate}
		} else if i == len(set.files)-1 {
			return nil, fmt.Errorf("%s: the server finished the upload but named no torrent", path)
		}
	}
	for _, f := range set.files {
		c.opts.State.Forget(c.stateKey(f))
	}
	res.Resumed = resumed
	var err error
	res.Torrent, err = c.torrent(ctx, res.InfoHash)
	return res, err
}

// stateKey names a file's upload on this server in the State.
func (c *Client) stateKey(f localFile) string { return c.base.String() + " " + f.fingerprint }

// torrent fetches the torrent object, for its page URL and magnet.
func (c *Client) torrent(ctx context.Context, ih string) (Torrent, error) {
	var t Torrent
	err := c.retry(ctx, func(ctx context.Context) (bool, error) {
		req, err := c.request(ctx, http.MethodGet, c.base.String()+"/api/v1/torrents/"+ih, nil)
		if err != nil {
			return false, err
		}
		resp, err := c.opts.HTTPClient.Do(req)
		if err != nil {
			return true, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return transient(resp.StatusCode), replyError(resp)
		}
		return false, json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&t)
	})
	if err != nil {
		return t, fmt.Errorf("torrent %s: %w", ih, err)
	}
	return t, nil
}

func (c *Client) request(ctx context.Context, method, u string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	req.Header.Set("Tus-Resumable", "1.0.0")
	return req, nil
}

// retry runs op until it succeeds, fails for good (retryable false) or has
// failed Retries+1 times in a row. Each try gets RequestTimeout.
func (c *Client) retry(ctx context.Context, op func(ctx context.Context) (retryable bool, err error)) error {
	wait := c.opts.Backoff
	var last error
	for try := 0; try <= c.opts.Retries; try++ {
		if try > 0 {
			if err := sleep(ctx, wait); err != nil {
				return err
			}
			wait = min(wait*2, c.opts.MaxBackoff)
		}
		tctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
		again, err := op(tctx)
		cancel()
		if err == nil || !again {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		last = err
	}
	return fmt.Errorf("gave up after %d tries: %w", c.opts.Retries+1, last)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// transient tells whether a reply status may go away by itself.
func transient(code int) bool {
	return code >= 500 || code == http.StatusLocked || code == http.StatusTooManyRequests ||
		code == http.StatusRequestTimeout || code == http.StatusConflict
}

// replyError reads the server's {"error": "..."} (or text) reply.
func replyError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error string `json:"error"`
	}
	msg := strings.TrimSpace(string(b))
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		msg = e.Error
	}
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return &Error{Status: resp.StatusCode, Message: msg}
}
