package tracker

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// brokenStore fails every call, as a Redis store does when Redis is down.
type brokenStore struct{ *MemoryStore }

var errStoreDown = errors.New("store down")

func (brokenStore) PutPeer(context.Context, [20]byte, Peer) error { return errStoreDown }

func (brokenStore) Announce(_ context.Context, _ [20]byte, _ *StoreAnnounce, dst []Peer) ([]Peer, AnnounceResult, error) {
	return dst, AnnounceResult{}, errStoreDown
}

func TestInternalErrorsAreNotShown(t *testing.T) {
	var logs bytes.Buffer
	access := NewAccess()
	access.PutUser("alice", User{ID: 1})
	access.Allow(ihOne, 1)
	tr := New(Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))}, access, &brokenStore{NewMemoryStore(1)}, nil)
	h := &harness{tr: tr}
	if got := h.failure(t, ann{peer: 1}.path(), "10.0.0.1:1"); got != "internal tracker error" {
		t.Errorf("failure reason %q, want the generic one", got)
	}
	if !strings.Contains(logs.String(), "store down") {
		t.Errorf("the cause was not logged: %q", logs.String())
	}
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{NumWantDefault: 500}.withDefaults()
	if o.Interval != 30*time.Minute || o.SeedboxInterval != 5*time.Second || o.PeerTTL != 61*time.Minute ||
		o.NumWantMax != 200 || o.NumWantDefault != 200 || o.Logger == nil {
		t.Errorf("defaults %+v", o)
	}
	if o.GCInterval != time.Minute {
		t.Errorf("GCInterval %v, want 1m", o.GCInterval)
	}
	if o := (Options{Interval: time.Minute}).withDefaults(); o.PeerTTL != 3*time.Minute {
		t.Errorf("PeerTTL %v, want 2*Interval+1m", o.PeerTTL)
	}
	// Short test intervals expire stale peers quickly.
	if o := (Options{Interval: 5 * time.Second}).withDefaults(); o.PeerTTL != 15*time.Second || o.GCInterval != 3750*time.Millisecond {
		t.Errorf("PeerTTL %v GCInterval %v, want 15s and 3.75s", o.PeerTTL, o.GCInterval)
	}
}

func TestIntervalJitter(t *testing.T) {
	seen := map[time.Duration]bool{}
	for seed := range uint32(1000) {
		d := jitter(30*time.Minute, seed*2654435761)
		if d < 27*time.Minute || d > 33*time.Minute || d%time.Second != 0 {
			t.Fatalf("jitter gave %v", d)
		}
		seen[d] = true
	}
	if len(seen) < 100 {
		t.Errorf("only %d distinct intervals: not spread", len(seen))
	}
	if halfAtLeastSecond(time.Second) != time.Second || halfAtLeastSecond(5*time.Second) != 2*time.Second {
		t.Error("min interval is not half, at least 1s")
	}
}

func TestAccessLookupsDoNotAllocate(t *testing.T) {
	a := NewAccess()
	a.PutUser("0123456789abcdef0123456789abcdef", User{ID: 1})
	a.Allow(ihOne, 1)
	pk := strings.Repeat("0123456789abcdef", 2)
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := a.User(pk); !ok {
			t.Fatal("user not found")
		}
		if _, ok := a.Torrent(ihOne); !ok {
			t.Fatal("torrent not found")
		}
	})
	if allocs != 0 {
		t.Errorf("lookups allocate %v times", allocs)
	}
}
