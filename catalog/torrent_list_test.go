package catalog

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestListTorrents(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		u := mustUser(t, c, RoleUser)
		other := mustUser(t, c, RoleUser)
		vol := mustVolume(t, c, "vol1")
		// Created in this order, so "new" lists them in reverse.
		seed := []struct {
			seed, title, category string
			size                  int64
			uploader              uint64
			state                 TorrentState
		}{
			{"s1", "Linear Algebra Lectures", "courses", 5000, u.ID, StateActive},
			{"s2", "linear regression notes", "courses", 3000, u.ID, StateActive},
			{"s3", "Debian 13 netinst", "software", 9000, other.ID, StateActive},
			{"s4", "100% free_music", "music", 1000, u.ID, StateActive},
			{"s5", "Old linear stuff", "courses", 2000, u.ID, StatePurged},
			{"s6", "Deleted linear thing", "courses", 7000, u.ID, StateDeleted},
			{"s7", "Zebra documentary", "video", 8000, other.ID, StateActive},
		}
		ids := map[string]uint64{}
		for _, s := range seed {
			tor := testTorrent(s.uploader, s.seed, s.size)
			tor.Title, tor.Category = s.title, s.category
			switch s.seed {
			case "s1":
				tor.Description = "Eigenvalues, explained slowly."
			case "s2":
				tor.Files[1].Path = "syllabus.pdf"
			case "s7":
				tor.Files[0].Path = "season 1/week_07.mkv"
			}
			if err := c.CreateTorrent(ctx, tor, Replica{VolumeID: vol.ID, State: ReplicaVerified}); err != nil {
				t.Fatal(err)
			}
			if s.state != StateActive {
				if err := c.SetTorrentState(ctx, tor.InfoHash, s.state); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(2 * time.Millisecond) // distinct created_at
			ids[s.seed] = tor.ID
		}
		// Seeders as the node copies them from the tracker; snatches from
		// accounting.
		err := c.SetSwarmCounts(ctx, []SwarmCount{{TorrentID: ids["s3"], Seeders: 9, Leechers: 1},
			{TorrentID: ids["s1"], Seeders: 4}, {TorrentID: ids["s7"], Seeders: 4}})
		if err != nil {
			t.Fatal(err)
		}
		for seed, n := range map[string]int{"s4": 2, "s7": 1} {
			if err := c.w.Exec("UPDATE torrents SET snatches = ? WHERE id = ?", n, ids[seed]).Error; err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name      string
			q         ListQuery
			want      []string
			wantTotal int64
		}{
			{"all, newest first", ListQuery{}, []string{"s7", "s5", "s4", "s3", "s2", "s1"}, 6},
			{"word any case", ListQuery{Query: "LINEAR"}, []string{"s5", "s2", "s1"}, 3},
			{"word prefix", ListQuery{Query: "linea"}, []string{"s5", "s2", "s1"}, 3},
			{"all words must match", ListQuery{Query: "linear notes"}, []string{"s2"}, 1},
			{"words across title and file path", ListQuery{Query: "regression syllabus"}, []string{"s2"}, 1},
			{"matches the name too", ListQuery{Query: "s3"}, []string{"s3"}, 1},
			{"matches the description", ListQuery{Query: "eigenvalues"}, []string{"s1"}, 1},
			{"matches a file path", ListQuery{Query: "week_07"}, []string{"s7"}, 1},
			{"punctuation separates words", ListQuery{Query: "100% free_music"}, []string{"s4"}, 1},
			{"query syntax is not interpreted", ListQuery{Query: `"zebra" OR NOT* (x`}, nil, 0},
			{"punctuation alone matches nothing", ListQuery{Query: "%_%"}, nil, 0},
			{"search and category", ListQuery{Query: "linear", Category: "courses", Sort: "size"}, []string{"s1", "s2", "s5"}, 3},
			{"category", ListQuery{Category: "courses"}, []string{"s5", "s2", "s1"}, 3},
			{"by size", ListQuery{Sort: "size"}, []string{"s3", "s7", "s1", "s2", "s5", "s4"}, 6},
			{"by name", ListQuery{Sort: "name"}, []string{"s4", "s3", "s1", "s2", "s5", "s7"}, 6},
			{"by seeders", ListQuery{Sort: "seeders"}, []string{"s3", "s7", "s1", "s5", "s4", "s2"}, 6},
			{"by completed", ListQuery{Sort: "completed"}, []string{"s4", "s7", "s5", "s3", "s2", "s1"}, 6},
			{"page 2", ListQuery{Sort: "size", Page: 2, PerPage: 4}, []string{"s5", "s4"}, 6},
			{"page past the end", ListQuery{Page: 9, PerPage: 4}, nil, 6},
			{"deleted only", ListQuery{State: StateDeleted}, []string{"s6"}, 1},
			{"uploader", ListQuery{UploaderID: other.ID}, []string{"s7", "s3"}, 2},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, total, err := c.ListTorrents(ctx, tt.q)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, tor := range got {
					names = append(names, tor.Name)
					if tor.Pieces != nil || tor.InfoBytes != nil || tor.Files != nil || tor.UploaderName == "" {
						t.Errorf("list result %s carries blobs or files, or lacks the uploader", tor.Name)
					}
				}
				if !reflect.DeepEqual(names, tt.want) || total != tt.wantTotal {
					t.Fatalf("ListTorrents = %v (total %d), want %v (total %d)", names, total, tt.want, tt.wantTotal)
				}
			})
		}
		if _, _, err := c.ListTorrents(ctx, ListQuery{Sort: "random"}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("ListTorrents(sort random) = %v, want ErrInvalid", err)
		}
	})
}
