package catalog

import (
	"context"
	"testing"
	"unicode"
)

func TestSwarmCountsAndDeletedReplicas(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		u := mustUser(t, c, RoleUser)
		vol := mustVolume(t, c, "vol1")
		a := mustTorrent(t, c, u.ID, vol, "a", 1000)
		b := mustTorrent(t, c, u.ID, vol, "b", 1000)
		before := a.UpdatedAt
		if err := c.SetSwarmCounts(ctx, []SwarmCount{{TorrentID: a.ID, Seeders: 3, Leechers: 2}}); err != nil {
			t.Fatal(err)
		}
		got, err := c.SwarmCounts(ctx)
		if err != nil || len(got) != 2 || got[0].Seeders != 3 || got[0].Leechers != 2 || got[0].InfoHash != a.InfoHash || got[1].Seeders != 0 {
			t.Fatalf("SwarmCounts = %+v, %v", got, err)
		}
		if ta, _ := c.TorrentByInfoHash(ctx, a.InfoHash); !ta.UpdatedAt.Equal(before) {
			t.Error("SetSwarmCounts changed updated_at: it would flood the tracker feed")
		}
		if err := c.SetSwarmCounts(ctx, []SwarmCount{{TorrentID: a.ID, Seeders: -1}}); err == nil {
			t.Error("negative count accepted")
		}

		if ps, err := c.DeletedReplicasOnNode(ctx, "n1"); err != nil || len(ps) != 0 {
			t.Fatalf("DeletedReplicasOnNode before a delete = %v, %v", ps, err)
		}
		if err := c.SetTorrentState(ctx, b.InfoHash, StateDeleted); err != nil {
			t.Fatal(err)
		}
		ps, err := c.DeletedReplicasOnNode(ctx, "n1")
		if err != nil || len(ps) != 1 || ps[0].InfoHash != b.InfoHash || ps[0].VolumeName != "vol1" {
			t.Fatalf("DeletedReplicasOnNode = %+v, %v", ps, err)
		}
		if ps, _ := c.DeletedReplicasOnNode(ctx, "other"); len(ps) != 0 {
			t.Errorf("another node's list: %+v", ps)
		}
		if got, _ := c.SwarmCounts(ctx); len(got) != 1 {
			t.Errorf("SwarmCounts lists a deleted torrent: %+v", got)
		}
		if err := c.DeleteReplica(ctx, b.ID, vol.ID); err != nil {
			t.Fatal(err)
		}
		if ps, _ := c.DeletedReplicasOnNode(ctx, "n1"); len(ps) != 0 {
			t.Errorf("after removing the replica: %+v", ps)
		}
	})
}

// FuzzSearch sends arbitrary search text (what a visitor types) to the
// SQLite full-text index: it must never be a syntax error, and the words
// passed to the index hold only letters and digits.
func FuzzSearch(f *testing.F) {
	for _, s := range []string{"linear algebra", `"quoted" OR x*`, "NEAR(a b)", "col:val", "^a -b +c", "\x00'; DROP", "ünï cødé 中文"} {
		f.Add(s)
	}
	c, err := Open(context.Background(), Options{URL: "file:" + f.TempDir() + "/fuzz.db"})
	if err != nil {
		f.Fatal(err)
	}
	defer c.Close()
	u, err := c.CreateUser(context.Background(), "fuzzer", "password123", RoleUser)
	if err != nil {
		f.Fatal(err)
	}
	vol, err := c.UpsertVolume(context.Background(), Volume{Name: "v", Path: "/srv/v", Node: "n1"})
	if err != nil {
		f.Fatal(err)
	}
	if err := c.CreateTorrent(context.Background(), testTorrent(u.ID, "linear algebra", 100), Replica{VolumeID: vol.ID, State: ReplicaVerified}); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q string) {
		for _, w := range searchWords(q) {
			for _, r := range w {
				if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					t.Fatalf("word %q of %q holds %q", w, q, r)
				}
			}
		}
		if _, _, err := c.ListTorrents(context.Background(), ListQuery{Query: q}); err != nil {
			t.Fatalf("ListTorrents(%q): %v", q, err)
		}
	})
}

// Quotes, backslashes and SQL in a search are only word separators: the
// words reach the query (on PostgreSQL written into its text) as letters and
// digits alone.
func TestSearchPunctuationIsInert(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		u := mustUser(t, c, RoleUser)
		vol := mustVolume(t, c, "vol1")
		tor := testTorrent(u.ID, "obrien", 1000)
		tor.Title = "O'Brien lecture"
		if err := c.CreateTorrent(ctx, tor, Replica{VolumeID: vol.ID, Node: vol.Node, State: ReplicaVerified}); err != nil {
			t.Fatal(err)
		}
		for q, want := range map[string]int64{
			"o'brien":                              1,
			`brien\' lecture`:                      1,
			"x'); DROP TABLE torrents; --":         0,
			"brien') OR to_tsquery('simple', 'zzz": 0,
			"'''":                                  0,
		} {
			list, total, err := c.ListTorrents(ctx, ListQuery{Query: q})
			if err != nil || total != want || int64(len(list)) != want {
				t.Errorf("search %q: %d (%d listed), %v; want %d", q, total, len(list), err, want)
			}
		}
		if _, err := c.TorrentByInfoHash(ctx, tor.InfoHash); err != nil {
			t.Fatalf("torrents after the searches: %v", err)
		}
	})
}
