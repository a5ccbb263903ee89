package node

import (
	"context"
	"errors"
	"time"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/seedbox"
)

// Scrubbing is scheduled by one node and done by every node. The holder of
// the "scrub" lease starts a cluster-wide scrub round in the catalog every
// scrub interval (scheduleScrubs); each node then re-verifies its own
// volumes for the latest round, one at a time, and records its progress
// per volume in the catalog (serveScrubRounds), which is what the admin
// page shows (catalog.ScrubStatusNow). A disk is read only by its node.

// scrubProgressEvery is how often a running volume scrub's progress is
// written to the catalog.
const scrubProgressEvery = 2 * time.Second

// scrubEvery is the scrub round interval: the shortest scrub_interval of
// this node's configured volumes (168h when none is set).
func (n *Node) scrubEvery() time.Duration {
	every := time.Duration(0)
	for _, v := range n.cfg.Seedbox.Volumes {
		if d := v.ScrubInterval.D(); d > 0 && (every == 0 || d < every) {
			every = d
		}
	}
	if every == 0 {
		every = 168 * time.Hour
	}
	return every
}

// scrubTick is how often the schedule and the latest round are looked at.
func scrubTick(every time.Duration) time.Duration {
	return min(max(every/4, 250*time.Millisecond), time.Minute)
}

// scheduleScrubs starts a scrub round whenever one is due, as a fenced run
// of leader, until ctx ends.
func (n *Node) scheduleScrubs(ctx context.Context, leader *Leader) error {
	every := n.scrubEvery()
	tick := time.NewTicker(scrubTick(every))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if !leader.Leading(ctx) {
			continue
		}
		if due, err := n.Catalog.ScrubRoundDue(ctx, every); err != nil || !due {
			if err != nil && ctx.Err() == nil {
				n.log.Warn("scrub schedule", "err", err)
			}
			continue
		}
		_, err := leader.Run(ctx, func(ctx context.Context) error {
			r, err := n.Catalog.StartScrubRoundIfDue(ctx, n.cfg.Seedbox.Node, every)
			if r != nil && !r.Baseline {
				n.log.Info("scrub round started", "round", r.ID)
			}
			return err
		})
		if err != nil && ctx.Err() == nil {
			n.log.Warn("scrub schedule", "err", err)
		}
	}
}

// serveScrubRounds scrubs this node's volumes for the latest round until
// ctx ends.
func (n *Node) serveScrubRounds(ctx context.Context) error {
	wait := scrubTick(n.scrubEvery())
	for {
		r, err := n.Catalog.LatestScrubRound(ctx)
		switch {
		case err == nil:
			n.scrubRound(ctx, r)
		case ctx.Err() == nil && !isNotFound(err):
			n.log.Warn("scrub: latest round", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

func isNotFound(err error) bool { return errors.Is(err, catalog.ErrNotFound) }

// scrubRound scrubs every volume of this node that has not finished round
// r. A volume recorded as running was cut short by a crash of this node
// (one process per node scrubs, one volume at a time): it is redone.
func (n *Node) scrubRound(ctx context.Context, r *catalog.ScrubRound) {
	recs, err := n.Catalog.ScrubProgress(ctx, r.ID)
	if err != nil {
		if ctx.Err() == nil {
			n.log.Warn("scrub: round progress", "round", r.ID, "err", err)
		}
		return
	}
	finished := map[string]bool{}
	for _, p := range recs {
		if p.Node == n.cfg.Seedbox.Node && p.State != catalog.ScrubRunning {
			finished[p.Volume] = true
		}
	}
	for _, v := range n.Volumes.List() {
		if ctx.Err() != nil {
			return
		}
		if v.State == seedbox.StateMaintenance || finished[v.Name] {
			continue
		}
		n.scrubVolume(ctx, r.ID, v)
	}
}

// scrubVolume scrubs v for round and records its progress as it goes.
func (n *Node) scrubVolume(ctx context.Context, round uint64, v seedbox.Volume) {
	before := n.Scrubber.Progress()
	started := false // the scrubber's progress is this volume's
	rec := func(state string, err error) {
		p := n.Scrubber.Progress()
		sp := catalog.ScrubVolumeProgress{RoundID: round, Node: n.cfg.Seedbox.Node, Volume: v.Name, State: state}
		if started && p.Volume == v.Name {
			sp.Replicas, sp.BytesDone, sp.BytesTotal = int64(p.Replicas), p.Done, p.Total
		}
		sp.Corrupt = p.Corrupt - before.Corrupt
		if err != nil {
			sp.Error = err.Error()
		}
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := n.Catalog.SetScrubProgress(wctx, sp); err != nil {
			n.log.Warn("scrub: record progress", "volume", v.Name, "err", err)
		}
	}
	rec(catalog.ScrubRunning, nil)
	started = true
	done := make(chan error, 1)
	go func() { done <- n.Scrubber.ScrubVolume(ctx, v) }()
	tick := time.NewTicker(scrubProgressEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			rec(catalog.ScrubRunning, nil)
		case err := <-done:
			switch {
			case ctx.Err() != nil: // shutting down: the next start redoes it
			case err != nil:
				n.log.Warn("scrub", "volume", v.Name, "round", round, "err", err)
				rec(catalog.ScrubFailed, err)
			default:
				rec(catalog.ScrubDone, nil)
			}
			return
		}
	}
}
