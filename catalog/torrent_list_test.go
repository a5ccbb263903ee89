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
		for _, s := range seed {
			tor := testTorrent(s.uploader, s.seed, s.size)
			tor.Title, tor.Category = s.title, s.category
			if err := c.CreateTorrent(ctx, tor, Replica{VolumeID: vol.ID, State: ReplicaVerified}); err != nil {
				t.Fatal(err)
			}
			if s.state != StateActive {
				if err := c.SetTorrentState(ctx, tor.InfoHash, s.state); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(2 * time.Millisecond) // distinct created_at
		}
		tests := []struct {
			name      string
			q         ListQuery
			want      []string
			wantTotal int64
		}{
			{"all, newest first", ListQuery{}, []string{"s7", "s5", "s4", "s3", "s2", "s1"}, 6},
			{"word any case", ListQuery{Query: "LINEAR"}, []string{"s5", "s2", "s1"}, 3},
			{"all words must match", ListQuery{Query: "linear notes"}, []string{"s2"}, 1},
			{"matches the name too", ListQuery{Query: "s3"}, []string{"s3"}, 1},
			{"percent is literal", ListQuery{Query: "100%"}, []string{"s4"}, 1},
			{"underscore is literal", ListQuery{Query: "e_m"}, []string{"s4"}, 1},
			{"wildcards alone match nothing", ListQuery{Query: "%_%"}, nil, 0},
			{"category", ListQuery{Category: "courses"}, []string{"s5", "s2", "s1"}, 3},
			{"by size", ListQuery{Sort: "size"}, []string{"s3", "s7", "s1", "s2", "s5", "s4"}, 6},
			{"by name", ListQuery{Sort: "name"}, []string{"s4", "s3", "s1", "s2", "s5", "s7"}, 6},
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
