package publish

import (
	"fmt"
	"path/filepath"

	"github.com/seedbed/seedbed/ingest"
	"github.com/seedbed/seedbed/seedbox"
)

// BeginOn opens a staging folder on volume v, for content that is already on
// that volume (a finished resumable upload): adopting it is then a rename.
// expected should be the exact total, so the adopted files are hashed once.
func (p *Publisher) BeginOn(v seedbox.Volume, expected int64) (*Staged, error) {
	dir := filepath.Join(v.StagingDir(), stagePrefix+randomID())
	up, err := ingest.NewUpload(dir, expected)
	if err != nil {
		return nil, fmt.Errorf("stage upload on %s: %w", v.Name, err)
	}
	return &Staged{Upload: up, Volume: v}, nil
}
