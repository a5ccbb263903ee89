package publish

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// TusDir is the folder of resumable uploads inside a volume's staging folder.
// An upload <id> keeps its bytes in <id>, its description in <id>.info, its
// lock in <id>.lock and, once finished, its result in <id>.done.
const TusDir = "tus"

// emptyUploadMaxAge is how long an upload that never received a byte is
// kept (at most; maxAge when that is shorter). Clients send their first
// bytes right after the creation, so such an upload is one whose creation
// reply was lost, or one a client gave up on at once.
const emptyUploadMaxAge = time.Hour

// SweepUploads removes resumable uploads that made no progress for maxAge
// (abandoned: nobody resumes them any more), uploads that never received a
// byte after min(maxAge, an hour), and the results of finished ones older
// than maxAge. It returns how many uploads it removed.
func (p *Publisher) SweepUploads(maxAge time.Duration) (int, error) {
	removed := 0
	var errs []error
	for _, v := range p.Volumes.List() {
		if v.State == "maintenance" {
			continue
		}
		n, err := sweepTusDir(filepath.Join(v.StagingDir(), TusDir), maxAge)
		removed += n
		errs = append(errs, err)
	}
	return removed, errors.Join(errs...)
}

// ServeUploadSweeps sweeps abandoned resumable uploads every interval until
// ctx ends.
func (p *Publisher) ServeUploadSweeps(ctx context.Context, maxAge, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := p.SweepUploads(maxAge); err != nil {
			p.logger().Warn("sweep resumable uploads", "err", err)
		} else if n > 0 {
			p.logger().Info("removed abandoned resumable uploads", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (p *Publisher) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.Default()
	}
	return p.Logger
}

// tusSuffixes are the files of one upload beside its data file <id>.
var tusSuffixes = []string{".done.tmp", ".info", ".lock", ".done"}

func sweepTusDir(dir string, maxAge time.Duration) (int, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sweep %s: %w", dir, err)
	}
	newest := make(map[string]time.Time) // upload id -> latest change of any of its files
	files := make(map[string][]string)
	empty := make(map[string]bool) // upload id -> its data file exists and is empty
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		id, data := e.Name(), true
		for _, suf := range tusSuffixes {
			if s, ok := strings.CutSuffix(id, suf); ok {
				id, data = s, false
				break
			}
		}
		if data {
			empty[id] = fi.Size() == 0
		}
		if fi.ModTime().After(newest[id]) {
			newest[id] = fi.ModTime()
		}
		files[id] = append(files[id], e.Name())
	}
	n := 0
	for id, t := range newest {
		age := maxAge
		if empty[id] {
			age = min(maxAge, emptyUploadMaxAge)
		}
		if time.Since(t) < age {
			continue
		}
		for _, name := range files[id] {
			os.Remove(filepath.Join(dir, name))
		}
		n++
	}
	return n, nil
}
