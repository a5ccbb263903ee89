package catalog

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestLeaseEpochs: the epoch stays while one holder renews, grows with
// every change of holder, and never repeats after a release.
func TestLeaseEpochs(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		take := func(holder string, ttl time.Duration) int64 {
			t.Helper()
			e, err := c.AcquireLeaseEpoch(ctx, "job", holder, ttl)
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		if e := take("a", time.Minute); e != 1 {
			t.Fatalf("first epoch %d, want 1", e)
		}
		if e := take("a", time.Minute); e != 1 {
			t.Fatalf("renewed epoch %d, want 1", e)
		}
		if e := take("b", time.Minute); e != 0 {
			t.Fatalf("b took a running lease: epoch %d", e)
		}
		if err := c.ReleaseLease(ctx, "job", "a"); err != nil {
			t.Fatal(err)
		}
		if e := take("b", 200*time.Millisecond); e != 2 {
			t.Fatalf("after release epoch %d, want 2", e)
		}
		if l, err := c.LeaseOf(ctx, "job"); err != nil || l.Holder != "b" || l.Epoch != 2 {
			t.Fatalf("LeaseOf = %+v, %v", l, err)
		}
		time.Sleep(400 * time.Millisecond)
		if e := take("a", time.Minute); e != 3 {
			t.Fatalf("after expiry epoch %d, want 3", e)
		}
	})
}

// TestJobRunFencing: a run starts only under the lease; a run whose lease
// was taken over in the middle is recorded as not held and reported.
func TestJobRunFencing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		since := time.Now().Add(-time.Minute)
		epoch, err := c.AcquireLeaseEpoch(ctx, "retention", "n1/x", time.Minute)
		if err != nil || epoch == 0 {
			t.Fatalf("acquire: %d %v", epoch, err)
		}
		if _, err := c.StartJobRun(ctx, "retention", "n1", "n1/x", epoch+1); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("start with a wrong epoch: %v", err)
		}
		if _, err := c.StartJobRun(ctx, "retention", "n2", "n2/y", epoch); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("start by a non-holder: %v", err)
		}
		id, err := c.StartJobRun(ctx, "retention", "n1", "n1/x", epoch)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.FinishJobRun(ctx, id, nil); err != nil {
			t.Fatalf("finish under the lease: %v", err)
		}

		// A run that outlives its lease: n2 takes the lease over meanwhile.
		id2, err := c.StartJobRun(ctx, "retention", "n1", "n1/x", epoch)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.ReleaseLease(ctx, "retention", "n1/x"); err != nil {
			t.Fatal(err)
		}
		e2, err := c.AcquireLeaseEpoch(ctx, "retention", "n2/y", time.Minute)
		if err != nil || e2 != epoch+1 {
			t.Fatalf("takeover: %d %v", e2, err)
		}
		if err := c.FinishJobRun(ctx, id2, errors.New("boom")); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("finish after losing the lease: %v", err)
		}
		id3, err := c.StartJobRun(ctx, "retention", "n2", "n2/y", e2)
		if err != nil {
			t.Fatal(err)
		}
		runs, err := c.JobRuns(ctx, "retention", since)
		if err != nil || len(runs) != 3 {
			t.Fatalf("JobRuns = %+v, %v", runs, err)
		}
		r1, r2, r3 := runs[0], runs[1], runs[2]
		if r1.ID != id || r1.Held == nil || !*r1.Held || r1.FinishedAt.Before(r1.StartedAt) || r1.Node != "n1" || r1.Epoch != epoch {
			t.Fatalf("first run %+v", r1)
		}
		if r2.ID != id2 || r2.Held == nil || *r2.Held || r2.Error != "boom" || r2.FinishedAt.IsZero() {
			t.Fatalf("fenced run %+v", r2)
		}
		if r3.ID != id3 || r3.Held != nil || !r3.FinishedAt.IsZero() || r3.Epoch != e2 {
			t.Fatalf("running run %+v", r3)
		}
		if err := c.FinishJobRun(ctx, 999999, nil); !errors.Is(err, ErrNotFound) {
			t.Fatalf("finish unknown run: %v", err)
		}
	})
}

// TestScrubRounds: the first due check records a baseline, the next round
// comes only after the interval, and progress is kept per node and volume.
func TestScrubRounds(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		if _, err := c.LatestScrubRound(ctx); !errors.Is(err, ErrNotFound) {
			t.Fatalf("no round yet: %v", err)
		}
		st, err := c.ScrubStatusNow(ctx)
		if err != nil || st.Round != nil {
			t.Fatalf("status without rounds: %+v %v", st, err)
		}
		const every = 300 * time.Millisecond
		if due, err := c.ScrubRoundDue(ctx, every); err != nil || !due {
			t.Fatalf("due without rounds: %v %v", due, err)
		}
		base, err := c.StartScrubRoundIfDue(ctx, "n1", every)
		if err != nil || base == nil || !base.Baseline {
			t.Fatalf("baseline: %+v %v", base, err)
		}
		if r, err := c.StartScrubRoundIfDue(ctx, "n1", every); err != nil || r != nil {
			t.Fatalf("round before the interval: %+v %v", r, err)
		}
		if due, err := c.ScrubRoundDue(ctx, every); err != nil || due {
			t.Fatalf("due right after the baseline: %v %v", due, err)
		}
		if _, err := c.LatestScrubRound(ctx); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a baseline counts as a round: %v", err)
		}
		time.Sleep(every)
		r, err := c.StartScrubRoundIfDue(ctx, "n1", every)
		if err != nil || r == nil || r.Baseline || r.ID <= base.ID {
			t.Fatalf("due round: %+v %v", r, err)
		}
		if got, err := c.LatestScrubRound(ctx); err != nil || got.ID != r.ID || got.StartedBy != "n1" {
			t.Fatalf("LatestScrubRound = %+v, %v", got, err)
		}
		v1 := mustVolume(t, c, "v1")
		mustVolume(t, c, "v2")
		p := ScrubVolumeProgress{RoundID: r.ID, Node: v1.Node, Volume: "v1", State: ScrubRunning, BytesTotal: 100, BytesDone: 10}
		if err := c.SetScrubProgress(ctx, p); err != nil {
			t.Fatal(err)
		}
		p.State, p.BytesDone, p.Replicas, p.Corrupt = ScrubDone, 100, 3, 1
		if err := c.SetScrubProgress(ctx, p); err != nil {
			t.Fatal(err)
		}
		p.State = "bogus"
		if err := c.SetScrubProgress(ctx, p); !errors.Is(err, ErrInvalid) {
			t.Fatalf("bad state: %v", err)
		}
		st, err = c.ScrubStatusNow(ctx)
		if err != nil || st.Round == nil || st.Round.ID != r.ID || len(st.Progress) != 1 || len(st.Pending) != 1 {
			t.Fatalf("status: %+v %v", st, err)
		}
		got := st.Progress[0]
		if got.State != ScrubDone || got.BytesDone != 100 || got.Replicas != 3 || got.Corrupt != 1 || got.FinishedAt.IsZero() ||
			got.StartedAt.After(got.UpdatedAt) || st.Pending[0].Name != "v2" {
			t.Fatalf("progress %+v pending %+v", got, st.Pending)
		}
		manual, err := c.StartScrubRound(ctx, "admin")
		if err != nil || manual.ID <= r.ID || manual.Baseline {
			t.Fatalf("manual round: %+v %v", manual, err)
		}
	})
}
