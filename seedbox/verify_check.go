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

// Checker is the one place that decides whether a replica on this node can
// be trusted: a replica its volume's Ledger vouches for (verified, clean
// shutdown since, files unchanged) is taken as is; any other is verified
// piece by piece, once even when several parts ask at the same time. A
// replica that fails is forgotten and reported through OnBad.
type Checker struct {
	vols     *Volumes
	verifier *Verifier
	log      *slog.Logger

	mu       sync.Mutex
	ledgers  map[string]*Ledger // by volume name
	inflight map[string]*checkCall
	onBad    []func(volume, infoHash string, res Result)
	trust    *PieceTrust
}

type checkCall struct {
	done chan struct{}
	res  Result
	err  error
}

// NewChecker opens the ledger of every volume not in maintenance.
func NewChecker(vols *Volumes, log *slog.Logger) (*Checker, error) {
	if log == nil {
		log = slog.Default()
	}
	c := &Checker{vols: vols, verifier: &Verifier{}, log: log.With("part", "seedbox"),
		ledgers: map[string]*Ledger{}, inflight: map[string]*checkCall{}, trust: NewPieceTrust(0)}
	for _, v := range vols.List() {
		if v.State == StateMaintenance {
			continue
		}
		l, err := OpenLedger(v.Path)
		if err != nil {
			return nil, fmt.Errorf("volume %s: %w", v.Name, err)
		}
		if !l.WasClean() {
			c.log.Info("volume was not shut down cleanly: its replicas are verified again", "volume", v.Name)
		}
		c.ledgers[v.Name] = l
	}
	return c, nil
}

// OnBad registers fn to hear of every replica found corrupt or missing.
func (c *Checker) OnBad(fn func(volume, infoHash string, res Result)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onBad = append(c.onBad, fn)
}

// Trust is the record of pieces verified when read for serving, shared by
// the seeder and the web seed.
func (c *Checker) Trust() *PieceTrust { return c.trust }

// Report tells every OnBad listener that a replica failed verification.
// Its pieces are no longer trusted by the serving paths either.
func (c *Checker) Report(volume, infoHash string, res Result) {
	if l := c.ledger(volume); l != nil {
		l.Forget(infoHash)
	}
	var ih metainfo.Hash
	if ih.FromHexString(infoHash) == nil {
		c.trust.Forget(volume, ih)
	}
	c.mu.Lock()
	fns := append([]func(string, string, Result){}, c.onBad...)
	c.mu.Unlock()
	for _, fn := range fns {
		fn(volume, infoHash, res)
	}
}

func (c *Checker) ledger(volume string) *Ledger {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ledgers[volume]
}

// readable returns the volume when its replicas may be read.
func (c *Checker) readable(volume string) (Volume, *Ledger, error) {
	v, ok := c.vols.ByName(volume)
	if !ok {
		return Volume{}, nil, fmt.Errorf("unknown volume %q", volume)
	}
	if v.State == StateMaintenance {
		return Volume{}, nil, fmt.Errorf("volume %s is in maintenance", volume)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	l := c.ledgers[volume]
	if l == nil { // a volume added or taken out of maintenance at runtime
		var err error
		if l, err = OpenLedger(v.Path); err != nil {
			return Volume{}, nil, fmt.Errorf("volume %s: %w", volume, err)
		}
		c.ledgers[volume] = l
	}
	return v, l, nil
}

// Trusted tells whether the replica is vouched for without reading it.
func (c *Checker) Trusted(volume, infoHash string, info *metainfo.Info) bool {
	v, l, err := c.readable(volume)
	return err == nil && l.Trusted(infoHash, torrentFiles(v.TorrentDir(infoHash), info))
}

// Check returns a replica's state: trusted from the ledger, or verified
// now. trusted tells which. A bad replica is reported to OnBad.
func (c *Checker) Check(ctx context.Context, volume, infoHash string, info *metainfo.Info) (res Result, trusted bool, err error) {
	v, l, err := c.readable(volume)
	if err != nil {
		return Result{}, false, err
	}
	files := torrentFiles(v.TorrentDir(infoHash), info)
	if l.Trusted(infoHash, files) {
		return Result{Pieces: info.NumPieces()}, true, nil
	}
	key := volume + "/" + infoHash
	c.mu.Lock()
	if call, ok := c.inflight[key]; ok {
		c.mu.Unlock()
		select {
		case <-call.done:
			return call.res, false, call.err
		case <-ctx.Done():
			return Result{}, false, ctx.Err()
		}
	}
	call := &checkCall{done: make(chan struct{})}
	c.inflight[key] = call
	c.mu.Unlock()
	call.res, call.err = c.verify(ctx, v, l, infoHash, info, files)
	c.mu.Lock()
	delete(c.inflight, key)
	c.mu.Unlock()
	close(call.done)
	return call.res, false, call.err
}

func (c *Checker) verify(ctx context.Context, v Volume, l *Ledger, infoHash string, info *metainfo.Info, files []fileSpan) (Result, error) {
	start := time.Now()
	res, err := c.verifier.run(ctx, files, info, nil)
	if err != nil {
		return res, fmt.Errorf("verify %s on %s: %w", infoHash, v.Name, err)
	}
	if !res.OK() {
		c.log.Warn("replica failed verification", "info_hash", infoHash, "volume", v.Name,
			"bad_pieces", len(res.Bad), "pieces", res.Pieces, "damaged_files", res.Damaged)
		c.Report(v.Name, infoHash, res)
		return res, nil
	}
	c.log.Debug("replica verified", "info_hash", infoHash, "volume", v.Name, "bytes", res.Bytes, "took", time.Since(start))
	return res, l.Record(infoHash, files)
}

// Record notes that the replica on volume was just verified by its writer
// (ingest hashed it, or a verified copy made it).
func (c *Checker) Record(volume, infoHash string, info *metainfo.Info) error {
	v, l, err := c.readable(volume)
	if err != nil {
		return err
	}
	return l.Record(infoHash, torrentFiles(v.TorrentDir(infoHash), info))
}

// Serve writes the ledgers to disk every few seconds until ctx ends.
func (c *Checker) Serve(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := c.flush(); err != nil {
				c.log.Warn("save verified replicas", "err", err)
			}
		}
	}
}

func (c *Checker) flush() error {
	var errs []error
	for _, l := range c.ledgerList() {
		errs = append(errs, l.Flush())
	}
	return errors.Join(errs...)
}

func (c *Checker) ledgerList() []*Ledger {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Ledger, 0, len(c.ledgers))
	for _, l := range c.ledgers {
		out = append(out, l)
	}
	return out
}

// Close saves every ledger and marks the shutdown clean. Call it after the
// seeder, the replicator and the scrubber have stopped.
func (c *Checker) Close() error {
	var errs []error
	for _, l := range c.ledgerList() {
		errs = append(errs, l.Close())
	}
	return errors.Join(errs...)
}
