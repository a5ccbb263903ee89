package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/seedbed/seedbed/catalog"
)

// Sweep removes what a crash may have left on this node's volumes: staging
// folders of non-resumable uploads, and content folders older than minAge
// that no catalog row refers to. It returns how many folders it removed.
func (p *Publisher) Sweep(ctx context.Context, minAge time.Duration) (int, error) {
	removed := 0
	var errs []error
	for _, v := range p.Volumes.List() {
		if v.State == "maintenance" {
			continue
		}
		n, err := sweepStaging(v.StagingDir())
		removed += n
		errs = append(errs, err)
		n, err = p.sweepOrphans(ctx, v.Path, minAge)
		removed += n
		errs = append(errs, err)
	}
	return removed, errors.Join(errs...)
}

func sweepStaging(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("sweep %s: %w", dir, err)
	}
	n := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), stagePrefix) {
			if os.RemoveAll(filepath.Join(dir, e.Name())) == nil {
				n++
			}
		}
	}
	return n, nil
}

// sweepOrphans walks <root>/<xx>/<infohash> folders.
func (p *Publisher) sweepOrphans(ctx context.Context, root string, minAge time.Duration) (int, error) {
	shards, err := filepath.Glob(filepath.Join(root, "[0-9a-f][0-9a-f]", "*"))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, dir := range shards {
		ih := filepath.Base(dir)
		if len(ih) != 40 {
			continue
		}
		fi, err := os.Stat(dir)
		if err != nil || time.Since(fi.ModTime()) < minAge {
			continue
		}
		if _, err := p.Catalog.TorrentByInfoHash(ctx, ih); !errors.Is(err, catalog.ErrNotFound) {
			continue
		}
		p.Logger.Warn("removing content with no catalog entry", "dir", dir)
		if os.RemoveAll(dir) == nil {
			n++
		}
	}
	return n, nil
}
