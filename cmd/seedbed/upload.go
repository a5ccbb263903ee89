package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/seedbed/seedbed/config"
	"github.com/seedbed/seedbed/uploadclient"
)

// runUpload is `seedbed upload [--server URL] [--token T] PATH...`: each
// path (a file or a folder) becomes one torrent; its page URL and magnet
// are printed on stdout.
func runUpload(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("upload", flag.ContinueOnError)
	server := fs.String("server", "", "portal URL (default: SEEDBED_SERVER, else the configured public_url)")
	token := fs.String("token", "", "API token (default: SEEDBED_TOKEN)")
	title := fs.String("title", "", "torrent title (default: the file or folder name)")
	category := fs.String("category", "", "torrent category")
	description := fs.String("description", "", "torrent description (Markdown)")
	retries := fs.Int("retries", 5, "tries again this many times in a row before giving up")
	state := fs.String("state", "", "file remembering unfinished uploads (default: in the user cache folder)")
	limit := fs.String("limit-rate", "", "cap the upload speed, bytes per second (like 2MiB)")
	chunk := fs.String("chunk-size", "16MiB", "bytes per request")
	progress := fs.Bool("progress", true, "show a progress bar when stderr is a terminal")
	paths, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(paths) == 0 {
		return usagef("usage: seedbed upload [--server URL] [--token T] PATH...")
	}
	opts, err := uploadOptions(e, *server, *token, *state, *limit, *chunk)
	if err != nil {
		return err
	}
	opts.Title, opts.Category, opts.Description, opts.Retries = *title, *category, *description, *retries
	if *retries < 1 {
		opts.Retries = 1
	}
	for _, p := range paths {
		if err := uploadOne(ctx, e, opts, p, *progress && isTerminal(e.stderr)); err != nil {
			return err
		}
	}
	return nil
}

func uploadOne(ctx context.Context, e *env, opts uploadclient.Options, path string, bar bool) error {
	var pb *progressBar
	if bar {
		pb = &progressBar{w: e.stderr, name: path, start: time.Now()}
		opts.Progress = pb.update
	}
	c, err := uploadclient.New(opts)
	if err != nil {
		return err
	}
	res, err := c.Upload(ctx, path)
	pb.done()
	if err != nil {
		var se *uploadclient.Error
		if errors.As(err, &se) {
			return fmt.Errorf("upload %s: %s", path, se.Message)
		}
		return fmt.Errorf("upload %s: %w", path, err)
	}
	if res.Resumed {
		fmt.Fprintf(e.stderr, "%s: resumed an earlier upload\n", path)
	}
	note := ""
	if res.Duplicate {
		note = " (already shared)"
	}
	fmt.Fprintf(e.stdout, "%s%s\n", res.Torrent.Name, note)
	fmt.Fprintf(e.stdout, "page: %s\n", res.Torrent.PageURL)
	fmt.Fprintf(e.stdout, "magnet: %s\n", res.Torrent.Magnet)
	return nil
}

func uploadOptions(e *env, server, token, state, limit, chunk string) (uploadclient.Options, error) {
	var o uploadclient.Options
	o.Server = firstNonEmpty(server, os.Getenv("SEEDBED_SERVER"))
	if o.Server == "" {
		cfg, err := loadConfig(e)
		if err != nil {
			return o, err
		}
		o.Server = cfg.PublicURL
	}
	o.Token = firstNonEmpty(token, os.Getenv("SEEDBED_TOKEN"))
	if o.Token == "" {
		return o, usagef("give an API token with --token or SEEDBED_TOKEN")
	}
	if limit != "" {
		n, err := config.ParseSize(limit)
		if err != nil {
			return o, usagef("--limit-rate: %v", err)
		}
		o.RateLimit = int64(n)
	}
	n, err := config.ParseSize(chunk)
	if err != nil || n <= 0 {
		return o, usagef("--chunk-size: need a size like 16MiB")
	}
	o.ChunkSize = int64(n)
	if state == "" {
		if state, err = uploadclient.DefaultStatePath(); err != nil {
			return o, fmt.Errorf("no place for the upload state (give --state FILE): %w", err)
		}
	}
	o.State, err = uploadclient.OpenState(state)
	return o, err
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// isTerminal tells whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressBar draws one line: bar, percent, speed and time left.
type progressBar struct {
	w     io.Writer
	name  string
	start time.Time
	mu    sync.Mutex
	last  time.Time
	drawn bool
}

func (p *progressBar) update(sent, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && sent < total {
		return
	}
	p.last, p.drawn = now, true
	frac := 1.0
	if total > 0 {
		frac = float64(sent) / float64(total)
	}
	const width = 30
	fill := int(frac * width)
	speed := float64(sent) / max(now.Sub(p.start).Seconds(), 0.001)
	left := "--"
	if speed > 0 && sent < total {
		left = time.Duration(float64(total-sent) / speed * float64(time.Second)).Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "\r%s [%s%s] %5.1f%% %s/s %s left ", trimName(p.name, 24), strings.Repeat("=", fill),
		strings.Repeat(" ", width-fill), frac*100, config.HumanBytes(int64(speed)), left)
}

func (p *progressBar) done() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

func trimName(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n+1:]
}
