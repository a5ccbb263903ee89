package tracker

import (
	"context"
	"slices"
	"testing"
	"time"
)

// flushed flushes the tracker and returns the credits the sink got: the
// Leeching flags are left out (see flushedRaw), and deltas with nothing
// else in them dropped.
func (h *harness) flushed(t *testing.T) []StatDelta {
	t.Helper()
	var out []StatDelta
	for _, d := range h.flushedRaw(t) {
		d.Leeching = false
		if d.Uploaded != 0 || d.Downloaded != 0 || d.SeedingSeconds != 0 || d.Completed {
			out = append(out, d)
		}
	}
	return out
}

// flushedRaw flushes the tracker and returns what the sink got.
func (h *harness) flushedRaw(t *testing.T) []StatDelta {
	t.Helper()
	if err := h.tr.flush(t.Context()); err != nil {
		t.Fatalf("flush: %v", err)
	}
	return h.sink.take()
}

// TestLeechingIsReported: a leecher's announce is reported as activity even
// when it credits no traffic; a seeder's and a stopped peer's are not.
func TestLeechingIsReported(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, left: 10, event: "started"})
	want := []StatDelta{{UserID: userAlice, TorrentID: torrentOne, InfoHash: ihOne, Leeching: true}}
	if d := h.flushedRaw(t); !slices.Equal(d, want) {
		t.Errorf("leecher's first announce: %+v, want %+v", d, want)
	}
	h.announce(t, ann{peer: 2, left: 0, event: "started"})
	h.announce(t, ann{peer: 1, left: 10, event: "stopped"})
	if d := h.flushedRaw(t); len(d) != 0 {
		t.Errorf("seeder and stopped leecher reported %+v", d)
	}
}

func TestAccountingCreditsDeltas(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, up: 1000, down: 5000, left: 10, event: "started"})
	if d := h.flushed(t); len(d) != 0 {
		t.Fatalf("first announce credited %+v; it only sets the baseline", d)
	}
	h.announce(t, ann{peer: 1, up: 1100, down: 5500, left: 10})
	h.announce(t, ann{peer: 1, up: 1150, down: 6000, left: 10})
	want := []StatDelta{{UserID: userAlice, TorrentID: torrentOne, InfoHash: ihOne, Uploaded: 150, Downloaded: 1000}}
	if d := h.flushed(t); !slices.Equal(d, want) {
		t.Errorf("deltas %+v, want %+v", d, want)
	}
}

func TestAccountingRestartGivesNoCredit(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, up: 1000, down: 1000, left: 10})
	h.announce(t, ann{peer: 1, up: 50, down: 1200, left: 10}) // uploaded went down: restart
	h.announce(t, ann{peer: 1, up: 80, down: 1300, left: 10})
	want := []StatDelta{{UserID: userAlice, TorrentID: torrentOne, InfoHash: ihOne, Uploaded: 30, Downloaded: 100}}
	if d := h.flushed(t); !slices.Equal(d, want) {
		t.Errorf("deltas %+v, want %+v", d, want)
	}
}

func TestAccountingPerPeerAndTorrent(t *testing.T) {
	h := newHarness(t, Options{})
	for _, a := range []ann{
		{peer: 1, left: 1}, {peer: 2, left: 1}, {passkey: "bob", peer: 3, left: 1}, {ih: ihTwo, peer: 1, left: 1},
		{peer: 1, up: 10, left: 1}, {peer: 2, up: 20, left: 1}, {passkey: "bob", peer: 3, up: 40, left: 1}, {ih: ihTwo, peer: 1, up: 80, left: 1},
	} {
		h.announce(t, a)
	}
	want := []StatDelta{
		{UserID: userAlice, TorrentID: torrentOne, InfoHash: ihOne, Uploaded: 30},
		{UserID: userAlice, TorrentID: torrentTwo, InfoHash: ihTwo, Uploaded: 80},
		{UserID: userBob, TorrentID: torrentOne, InfoHash: ihOne, Uploaded: 40},
	}
	if d := h.flushed(t); !slices.Equal(d, want) {
		t.Errorf("deltas %+v, want %+v", d, want)
	}
}

func TestAccountingSeedboxNotCredited(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{passkey: "box", peer: 99, left: 0})
	h.announce(t, ann{passkey: "box", peer: 99, up: 1 << 30, left: 0, event: "completed"})
	h.advance(time.Minute)
	h.announce(t, ann{passkey: "box", peer: 99, up: 1 << 31, left: 0})
	if d := h.flushed(t); len(d) != 0 {
		t.Errorf("seedbox credited %+v", d)
	}
}

func TestAccountingStoppedAndSnatch(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, left: 10, event: "started"})
	h.announce(t, ann{peer: 1, down: 10, left: 0, event: "completed"})
	h.announce(t, ann{peer: 1, up: 7, down: 10, left: 0, event: "stopped"})
	h.announce(t, ann{peer: 1, left: 0, event: "started"}) // new session, counters from zero
	h.announce(t, ann{peer: 1, up: 5, left: 0})
	want := []StatDelta{{UserID: userAlice, TorrentID: torrentOne, InfoHash: ihOne, Uploaded: 12, Downloaded: 10, Completed: true}}
	if d := h.flushed(t); !slices.Equal(d, want) {
		t.Errorf("deltas %+v, want %+v", d, want)
	}
}

func TestAccountingSeedingSeconds(t *testing.T) {
	h := newHarness(t, Options{Interval: time.Minute, PeerTTL: 3 * time.Minute})
	h.announce(t, ann{peer: 1, left: 0})
	h.advance(60 * time.Second)
	h.announce(t, ann{peer: 1, left: 0})
	h.advance(time.Hour) // gap longer than PeerTTL: capped
	h.announce(t, ann{peer: 1, left: 0})
	h.announce(t, ann{peer: 2, left: 5})
	h.advance(60 * time.Second)
	h.announce(t, ann{peer: 2, left: 5}) // a leecher does not seed
	want := []StatDelta{{UserID: userAlice, TorrentID: torrentOne, InfoHash: ihOne, SeedingSeconds: 60 + 180}}
	if d := h.flushed(t); !slices.Equal(d, want) {
		t.Errorf("deltas %+v, want %+v", d, want)
	}
}

func TestAccountingFlushRetries(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, left: 1})
	h.announce(t, ann{peer: 1, up: 10, left: 1})
	h.sink.failing = true
	if err := h.tr.flush(t.Context()); err == nil {
		t.Fatal("flush into a failing sink: no error")
	}
	h.announce(t, ann{peer: 1, up: 15, left: 1})
	h.sink.failing = false
	want := []StatDelta{{UserID: userAlice, TorrentID: torrentOne, InfoHash: ihOne, Uploaded: 15}}
	if d := h.flushed(t); !slices.Equal(d, want) {
		t.Errorf("deltas %+v, want the kept and the new merged: %+v", d, want)
	}
}

func TestAccountingBaselinesExpire(t *testing.T) {
	h := newHarness(t, Options{Interval: time.Minute, PeerTTL: 3 * time.Minute})
	h.announce(t, ann{peer: 1, up: 100, left: 1})
	h.advance(10 * time.Minute)
	h.tr.collectGarbage(t.Context())
	h.announce(t, ann{peer: 1, up: 500, left: 1}) // after expiry: a new baseline
	if d := h.flushed(t); len(d) != 0 {
		t.Errorf("credited %+v across an expired baseline", d)
	}
}

func TestServeFlushesAtEnd(t *testing.T) {
	h := newHarness(t, Options{FlushInterval: time.Hour})
	h.announce(t, ann{peer: 1, left: 1})
	h.announce(t, ann{peer: 1, up: 10, left: 1})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- h.tr.Serve(ctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if d := h.sink.take(); len(d) != 1 || d[0].Uploaded != 10 {
		t.Errorf("final flush gave %+v", d)
	}
}

func TestServeReportsFailedFinalFlush(t *testing.T) {
	h := newHarness(t, Options{})
	h.announce(t, ann{peer: 1, left: 1})
	h.announce(t, ann{peer: 1, up: 10, left: 1})
	h.sink.failing = true
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := h.tr.Serve(ctx); err == nil {
		t.Error("Serve hid a failed final flush")
	}
}

func TestServeRunsLoops(t *testing.T) {
	h := newHarness(t, Options{FlushInterval: 10 * time.Millisecond, GCInterval: 10 * time.Millisecond, PeerTTL: time.Second})
	h.tr.clock.set(time.Now().Add(-time.Hour))
	h.announce(t, ann{peer: 1, left: 1})
	h.announce(t, ann{peer: 1, up: 10, left: 1})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go h.tr.Serve(ctx)
	var flushed []StatDelta
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		flushed = append(flushed, h.sink.take()...)
		if h.tr.Counts(ihOne).Leechers == 0 && len(flushed) == 1 {
			return
		}
	}
	t.Errorf("Serve did not both expire the peer and flush: %+v, flushed %+v", h.tr.Counts(ihOne), flushed)
}
