package catalog

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestPurgeLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		u := mustUser(t, c, RoleUser)
		v1, v2 := mustVolume(t, c, "p1"), mustVolume(t, c, "p2")
		tor := mustTorrent(t, c, u.ID, v1, "purgeme", 64<<10)
		if err := c.SetReplicaState(ctx, tor.ID, v2.ID, "n2", ReplicaVerified); err != nil {
			t.Fatal(err)
		}
		other := mustTorrent(t, c, u.ID, v1, "keepme", 32<<10)

		rts, err := c.RetentionTorrents(ctx)
		if err != nil || len(rts) != 2 || len(rts[0].Replicas) != 2 || rts[0].Replicas[1].Node != "n2" {
			t.Fatalf("retention torrents %+v %v", rts, err)
		}
		if err := c.StartPurge(ctx, tor.ID, "oversized-stale", "too big", "cli:root", tor.Size); err != nil {
			t.Fatal(err)
		}
		if err := c.StartPurge(ctx, tor.ID, "oversized-stale", "again", "auto", 0); !errors.Is(err, ErrConflict) {
			t.Errorf("second purge: %v, want ErrConflict", err)
		}
		if err := c.StartPurge(ctx, 999999, "x", "y", "auto", 0); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown torrent: %v, want ErrNotFound", err)
		}
		got, _ := c.TorrentByInfoHash(ctx, tor.InfoHash)
		if got.State != StatePurged || got.PurgeReason != "too big" || got.PurgedAt.IsZero() {
			t.Errorf("after StartPurge: %s %q", got.State, got.PurgeReason)
		}
		// Not seeded any more, and no longer a retention candidate.
		ps, _ := c.PlacementsOnNode(ctx, "n1")
		for _, p := range ps {
			if p.TorrentID == tor.ID {
				t.Error("a purged torrent is still in the seed list")
			}
		}
		if rts, _ := c.RetentionTorrents(ctx); len(rts) != 1 || rts[0].ID != other.ID {
			t.Errorf("candidates after purge %+v", rts)
		}
		work, err := c.PurgeWork(ctx, "n1")
		if err != nil || len(work) != 1 || work[0].VolumeID != v1.ID || work[0].InfoHash != tor.InfoHash {
			t.Fatalf("purge work n1 %+v %v", work, err)
		}
		if ok, _ := c.PurgePending(ctx, tor.ID, v1.ID); !ok {
			t.Error("PurgePending false before the copy is deleted")
		}
		if err := c.FinishPurgeReplica(ctx, tor.ID, v1.ID); err != nil {
			t.Fatal(err)
		}
		if ok, _ := c.PurgePending(ctx, tor.ID, v1.ID); ok {
			t.Error("PurgePending true after FinishPurgeReplica")
		}
		recs, _ := c.Purges(ctx, 10)
		if len(recs) != 1 || !recs[0].FinishedAt.IsZero() {
			t.Fatalf("purge finished while node n2 still holds a copy: %+v", recs)
		}
		if err := c.FinishPurgeReplica(ctx, tor.ID, v2.ID); err != nil {
			t.Fatal(err)
		}
		recs, _ = c.Purges(ctx, 10)
		if r := recs[0]; r.FinishedAt.IsZero() || r.Actor != "cli:root" || r.Rule != "oversized-stale" || r.Bytes != tor.Size || r.InfoHash != tor.InfoHash {
			t.Errorf("purge record %+v", r)
		}
		// The tracker keeps allowing it.
		_, feed, _, _, err := c.TrackerChanges(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range feed {
			if e.InfoHash == tor.InfoHash && !e.Allowed {
				t.Error("purged torrent not allowed by the tracker")
			}
		}
	})
}

func TestReviveTorrent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		u := mustUser(t, c, RoleUser)
		v1, v2 := mustVolume(t, c, "r1"), mustVolume(t, c, "r2")
		tor := mustTorrent(t, c, u.ID, v1, "revive", 64<<10)
		if err := c.SetReplicaState(ctx, tor.ID, v2.ID, "n1", ReplicaVerified); err != nil {
			t.Fatal(err)
		}
		rep := Replica{VolumeID: v1.ID, Node: "n1", State: ReplicaVerified}
		if err := c.ReviveTorrent(ctx, tor.ID, rep); !errors.Is(err, ErrConflict) {
			t.Errorf("reviving an active torrent: %v, want ErrConflict", err)
		}
		if err := c.StartPurge(ctx, tor.ID, "high-water", "full", "auto", tor.Size); err != nil {
			t.Fatal(err)
		}
		// v1's copy was deleted; v2's purge never ran (a crash).
		if err := c.FinishPurgeReplica(ctx, tor.ID, v1.ID); err != nil {
			t.Fatal(err)
		}
		if err := c.ReviveTorrent(ctx, tor.ID, rep); err != nil {
			t.Fatal(err)
		}
		got, _ := c.TorrentByInfoHash(ctx, tor.InfoHash)
		if got.State != StateActive || got.PurgeReason != "" || !got.PurgedAt.IsZero() || got.ID != tor.ID {
			t.Errorf("revived torrent %+v", got)
		}
		reps, _ := c.ReplicasOf(ctx, tor.ID)
		if len(reps) != 2 || reps[0].State != ReplicaVerified || reps[1].State != ReplicaCorrupt {
			t.Errorf("replicas after revive %+v: want the new one verified, the half-purged one corrupt", reps)
		}
		if work, _ := c.PurgeWork(ctx, "n1"); len(work) != 0 {
			t.Errorf("a revived torrent is purge work: %+v", work)
		}
		recs, _ := c.Purges(ctx, 0)
		if len(recs) != 1 || recs[0].FinishedAt.IsZero() {
			t.Errorf("purge not closed by the revive: %+v", recs)
		}
	})
}

func TestVolumeAdministration(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		v, err := c.RegisterVolume(ctx, VolumeInfo{Volume: Volume{Name: "a", Path: "/srv/a", Node: "n1"}, Capacity: 100, Reserve: 10})
		if err != nil || v.State != VolumeActive || v.Capacity != 100 || v.Reserve != 10 {
			t.Fatalf("register: %+v %v", v, err)
		}
		if err := c.SetVolumeState(ctx, "n1", "a", VolumeReadonly); err != nil {
			t.Fatal(err)
		}
		// A restart with the config's default state keeps the admin's state...
		v, err = c.RegisterVolume(ctx, VolumeInfo{Volume: Volume{Name: "a", Path: "/mnt/a", Node: "n1", State: VolumeActive}, Capacity: 200})
		if err != nil || v.State != VolumeReadonly || v.Path != "/mnt/a" || v.Capacity != 200 {
			t.Fatalf("re-register: %+v %v", v, err)
		}
		// ...and a non-active state in the config is imposed.
		v, _ = c.RegisterVolume(ctx, VolumeInfo{Volume: Volume{Name: "a", Path: "/mnt/a", Node: "n1", State: VolumeMaintenance}})
		if v.State != VolumeMaintenance {
			t.Errorf("config maintenance not imposed: %s", v.State)
		}
		if _, err := c.AddVolume(ctx, VolumeInfo{Volume: Volume{Name: "a", Path: "/x", Node: "n1"}}); !errors.Is(err, ErrConflict) {
			t.Errorf("adding a taken name: %v, want ErrConflict", err)
		}
		if _, err := c.AddVolume(ctx, VolumeInfo{Volume: Volume{Name: "b c", Path: "/x"}}); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad name: %v, want ErrInvalid", err)
		}
		b, err := c.AddVolume(ctx, VolumeInfo{Volume: Volume{Name: "b", Path: "/srv/b", Node: "n2", State: VolumeReadonly}})
		if err != nil || b.State != VolumeReadonly || b.Node != "n2" {
			t.Fatalf("add: %+v %v", b, err)
		}
		if err := c.SetVolumeState(ctx, "n1", "nope", VolumeActive); !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown volume: %v", err)
		}
		if err := c.SetVolumeState(ctx, "n2", "b", "broken"); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad state: %v", err)
		}
		u := mustUser(t, c, RoleUser)
		av := &Volume{ID: v.ID, Node: "n1"}
		mustTorrent(t, c, u.ID, av, "va1", 1000)
		mustTorrent(t, c, u.ID, av, "va2", 500)
		all, err := c.VolumeInfos(ctx, "")
		if err != nil || len(all) != 2 || all[0].Torrents != 2 || all[0].Bytes != 1500 || all[1].Torrents != 0 {
			t.Fatalf("volume infos %+v %v", all, err)
		}
		if n2, _ := c.VolumeInfos(ctx, "n2"); len(n2) != 1 || n2[0].Name != "b" {
			t.Errorf("volumes of n2: %+v", n2)
		}
	})
}

func TestSettings(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		if err := c.SetSettings(ctx, map[string]string{SettingPlacement: "forced", SettingForceVolume: "v2"}); err != nil {
			t.Fatal(err)
		}
		if err := c.SetSettings(ctx, map[string]string{SettingForceVolume: "v3"}); err != nil {
			t.Fatal(err)
		}
		s, err := c.Settings(ctx)
		if err != nil || s[SettingPlacement] != "forced" || s[SettingForceVolume] != "v3" {
			t.Fatalf("settings %v %v", s, err)
		}
		if err := c.SetSettings(ctx, map[string]string{SettingPlacement: "", SettingForceVolume: ""}); err != nil {
			t.Fatal(err)
		}
		if s, _ := c.Settings(ctx); len(s) != 0 {
			t.Errorf("settings after removal %v", s)
		}
	})
}

func TestLeecherAnnounceMarksActivity(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		u := mustUser(t, c, RoleUser)
		tor := mustTorrent(t, c, u.ID, mustVolume(t, c, "act"), "activity", 1000)
		last := func() time.Time {
			rts, err := c.RetentionTorrents(ctx)
			if err != nil || len(rts) != 1 {
				t.Fatalf("%+v %v", rts, err)
			}
			return rts[0].LastActiveAt
		}
		if !last().IsZero() {
			t.Fatal("a new torrent has activity")
		}
		// A seeder's time alone is no activity (SeedingSeconds is not even passed on).
		if err := c.ApplyStats(ctx, []StatDelta{{UserID: u.ID, TorrentID: tor.ID}}); err != nil {
			t.Fatal(err)
		}
		if !last().IsZero() {
			t.Error("an empty delta marked activity")
		}
		before := time.Now().Add(-time.Second)
		if err := c.ApplyStats(ctx, []StatDelta{{UserID: u.ID, TorrentID: tor.ID, Leeching: true}}); err != nil {
			t.Fatal(err)
		}
		if l := last(); l.Before(before) {
			t.Errorf("a leecher's announce left last activity at %v", l)
		}
	})
}
