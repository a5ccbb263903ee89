package seedbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

// ScrubOptions configure a Scrubber.
type ScrubOptions struct {
	Catalog ReplicaCatalog
	Volumes *Volumes
	Checker *Checker
	Node    string
	// Rate caps the bytes read per second over all volumes; 0 is uncapped.
	Rate   int64
	Logger *slog.Logger
}

// ScrubProgress is what the scrubber is doing.
type ScrubProgress struct {
	Running  bool
	Volume   string
	Torrent  string    // infohash being verified
	Done     int64     // bytes verified in this pass
	Total    int64     // bytes this pass covers
	Replicas int       // replicas verified in this pass
	Corrupt  int64     // corrupt replicas found since start
	Passes   int64     // passes finished since start
	LastPass time.Time // end of the last finished pass
}

// Scrubber re-verifies every verified replica of one volume of this node
// (ScrubVolume), reading at most Rate bytes per second. When to scrub is the
// leader's scrub rounds (node/scrub_schedule.go). A replica that fails is
// reported to the Checker (it is marked corrupt, no longer served, and the
// Replicator rebuilds it from a good replica).
type Scrubber struct {
	opts     ScrubOptions
	verifier *Verifier
	log      *slog.Logger

	mu   sync.Mutex
	prog ScrubProgress
}

// NewScrubber builds a Scrubber.
func NewScrubber(opts ScrubOptions) *Scrubber {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Scrubber{opts: opts, log: opts.Logger.With("part", "scrub")}
	s.verifier = &Verifier{Limiter: limiter(opts.Rate), Progress: s.advance}
	return s
}

// Progress returns a snapshot of the scrubber's progress.
func (s *Scrubber) Progress() ScrubProgress {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.prog
}

func (s *Scrubber) advance(n int64) {
	s.mu.Lock()
	s.prog.Done += n
	s.mu.Unlock()
}

// ScrubVolume verifies every verified replica on v once.
func (s *Scrubber) ScrubVolume(ctx context.Context, v Volume) error {
	recs, err := s.opts.Catalog.ActiveReplicas(ctx)
	if err != nil {
		return err
	}
	var mine []ReplicaRecord
	var total int64
	for _, rec := range recs {
		if rec.VolumeID == v.ID && rec.State == ReplicaVerified && rec.VolumeState != StateMaintenance {
			mine = append(mine, rec)
			total += rec.Size
		}
	}
	s.begin(v.Name, total)
	s.log.Info("scrub started", "volume", v.Name, "replicas", len(mine), "bytes", total)
	start := time.Now()
	var errs []error
	bad := 0
	for _, rec := range mine {
		if ctx.Err() != nil {
			s.end(false)
			return ctx.Err()
		}
		ok, err := s.scrubOne(ctx, v, rec)
		if err != nil {
			errs = append(errs, err)
		} else if !ok {
			bad++
		}
	}
	s.end(true)
	p := s.Progress()
	s.log.Info("scrub finished", "volume", v.Name, "replicas", len(mine), "corrupt", bad, "bytes", p.Done,
		"took", time.Since(start).Round(time.Millisecond))
	return errors.Join(errs...)
}

func (s *Scrubber) begin(volume string, total int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prog.Running, s.prog.Volume, s.prog.Done, s.prog.Total, s.prog.Replicas = true, volume, 0, total, 0
}

func (s *Scrubber) end(finished bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prog.Running, s.prog.Torrent = false, ""
	if finished {
		s.prog.Passes++
		s.prog.LastPass = time.Now()
	}
}

// scrubOne verifies one replica; ok is false when it was found bad.
func (s *Scrubber) scrubOne(ctx context.Context, v Volume, rec ReplicaRecord) (bool, error) {
	s.mu.Lock()
	s.prog.Torrent = rec.InfoHash
	s.mu.Unlock()
	b, err := s.opts.Catalog.InfoBytes(ctx, rec.InfoHash)
	if err != nil {
		return true, err
	}
	var info metainfo.Info
	if err := infoUnmarshal(b, &info); err != nil {
		return true, fmt.Errorf("%s: %w", rec.InfoHash, err)
	}
	res, err := s.verifier.Verify(ctx, v.TorrentDir(rec.InfoHash), &info)
	if err != nil {
		return true, fmt.Errorf("scrub %s on %s: %w", rec.InfoHash, v.Name, err)
	}
	s.mu.Lock()
	s.prog.Replicas++
	s.mu.Unlock()
	if res.OK() {
		return true, s.opts.Checker.Record(v.Name, rec.InfoHash, &info)
	}
	s.mu.Lock()
	s.prog.Corrupt++
	s.mu.Unlock()
	s.log.Warn("scrub found a corrupt replica", "info_hash", rec.InfoHash, "volume", v.Name,
		"bad_pieces", len(res.Bad), "pieces", res.Pieces, "damaged_files", res.Damaged)
	s.opts.Checker.Report(v.Name, rec.InfoHash, res)
	return false, nil
}
