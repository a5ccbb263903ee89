package catalog

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCreateTorrent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		u := mustUser(t, c, RoleUser)
		vol := mustVolume(t, c, "vol1")
		tests := []struct {
			name    string
			edit    func(*Torrent, *Replica)
			wantErr error
		}{
			{name: "ok", edit: func(*Torrent, *Replica) {}},
			{name: "replica by volume name", edit: func(_ *Torrent, r *Replica) { r.VolumeID, r.VolumeName = 0, "vol1" }},
			{name: "uppercase infohash is stored lowercase", edit: func(tor *Torrent, _ *Replica) { tor.InfoHash = strings.ToUpper(tor.InfoHash) }},
			{name: "empty torrent", edit: func(tor *Torrent, _ *Replica) {
				tor.Size, tor.Pieces, tor.Files = 0, nil, []File{{Path: "empty", Size: 0}}
			}},
			{name: "bad infohash", edit: func(tor *Torrent, _ *Replica) { tor.InfoHash = "xyz" }, wantErr: ErrInvalid},
			{name: "bad md5", edit: func(tor *Torrent, _ *Replica) { tor.MD510M = "00" }, wantErr: ErrInvalid},
			{name: "pieces mismatch", edit: func(tor *Torrent, _ *Replica) { tor.Pieces = tor.Pieces[20:] }, wantErr: ErrInvalid},
			{name: "file sizes mismatch", edit: func(tor *Torrent, _ *Replica) { tor.Files[0].Size++ }, wantErr: ErrInvalid},
			{name: "single file with two files", edit: func(tor *Torrent, _ *Replica) { tor.SingleFile = true }, wantErr: ErrInvalid},
			{name: "no files", edit: func(tor *Torrent, _ *Replica) { tor.Files = nil }, wantErr: ErrInvalid},
			{name: "bad replica state", edit: func(_ *Torrent, r *Replica) { r.State = "fine" }, wantErr: ErrInvalid},
			{name: "unknown uploader", edit: func(tor *Torrent, _ *Replica) { tor.UploaderID = 987654 }, wantErr: ErrNotFound},
			{name: "unknown volume id", edit: func(_ *Torrent, r *Replica) { r.VolumeID = 987654 }, wantErr: ErrNotFound},
			{name: "unknown volume name", edit: func(_ *Torrent, r *Replica) { r.VolumeID, r.VolumeName = 0, "nope" }, wantErr: ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tor := testTorrent(u.ID, "create "+tt.name, 100_000)
				rep := Replica{VolumeID: vol.ID, Node: "n1", State: ReplicaVerified}
				tt.edit(tor, &rep)
				torrentsBefore, filesBefore, replicasBefore := count(t, c, "torrents"), count(t, c, "files"), count(t, c, "replicas")
				err := c.CreateTorrent(ctx, tor, rep)
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("CreateTorrent err = %v, want %v", err, tt.wantErr)
					}
					// Atomic: nothing of a failed torrent remains.
					if count(t, c, "torrents") != torrentsBefore || count(t, c, "files") != filesBefore || count(t, c, "replicas") != replicasBefore {
						t.Fatal("a failed CreateTorrent left rows behind")
					}
					if _, err := c.TorrentByInfoHash(ctx, tor.InfoHash); !errors.Is(err, ErrNotFound) {
						t.Fatalf("TorrentByInfoHash after failure = %v, want ErrNotFound", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("CreateTorrent: %v", err)
				}
				if tor.ID == 0 || tor.CreatedAt.IsZero() || tor.State != StateActive || tor.Title != tor.Name {
					t.Fatalf("after CreateTorrent: %+v", tor)
				}
				got, err := c.TorrentByInfoHash(ctx, strings.ToUpper(tor.InfoHash))
				if err != nil {
					t.Fatalf("TorrentByInfoHash: %v", err)
				}
				want := *tor
				want.UploaderName = u.Name
				if !bytes.Equal(got.Pieces, want.Pieces) || !reflect.DeepEqual(got.Files, want.Files) {
					t.Fatalf("got pieces/files %x %+v, want %x %+v", got.Pieces, got.Files, want.Pieces, want.Files)
				}
				got.Pieces, want.Pieces = nil, nil
				if !reflect.DeepEqual(*got, want) {
					t.Fatalf("TorrentByInfoHash =\n%+v\nwant\n%+v", *got, want)
				}
				reps, err := c.ReplicasOf(ctx, tor.ID)
				if err != nil || len(reps) != 1 || reps[0].VolumeName != "vol1" || reps[0].State != ReplicaVerified {
					t.Fatalf("ReplicasOf = %+v, %v", reps, err)
				}
			})
		}
		dup := testTorrent(u.ID, "create ok", 100_000)
		if err := c.CreateTorrent(ctx, dup, Replica{VolumeID: vol.ID, State: ReplicaVerified}); !errors.Is(err, ErrConflict) {
			t.Fatalf("CreateTorrent(duplicate infohash) = %v, want ErrConflict", err)
		}
		if _, err := c.TorrentByInfoHash(ctx, strings.Repeat("0", 40)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("TorrentByInfoHash(unknown) = %v, want ErrNotFound", err)
		}
	})
}

func TestDedupeCandidates(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		u := mustUser(t, c, RoleUser)
		vol := mustVolume(t, c, "vol1")
		a := mustTorrent(t, c, u.ID, vol, "a", 1<<20)
		// Same size and first-10-MiB MD5 as a, different content later.
		for _, seed := range []string{"b", "purged", "deleted"} {
			tor := testTorrent(u.ID, seed, 1<<20)
			tor.MD510M = a.MD510M
			if err := c.CreateTorrent(ctx, tor, Replica{VolumeID: vol.ID, State: ReplicaVerified}); err != nil {
				t.Fatal(err)
			}
		}
		mustTorrent(t, c, u.ID, vol, "other md5", 1<<20)
		mustTorrent(t, c, u.ID, vol, "other size", 1<<19)
		if err := c.SetTorrentState(ctx, testTorrent(0, "purged", 0).InfoHash, StatePurged); err != nil {
			t.Fatal(err)
		}
		if err := c.SetTorrentState(ctx, testTorrent(0, "deleted", 0).InfoHash, StateDeleted); err != nil {
			t.Fatal(err)
		}
		got, err := c.DedupeCandidates(ctx, 1<<20, strings.ToUpper(a.MD510M))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tor := range got {
			names = append(names, tor.Name)
			if len(tor.Pieces) != 64*20 || len(tor.Files) != 2 || len(tor.InfoBytes) == 0 || tor.UploaderName != u.Name {
				t.Errorf("candidate %s lacks pieces, files or uploader: %d pieces, %+v", tor.Name, len(tor.Pieces)/20, tor.Files)
			}
		}
		if want := []string{"a", "b", "purged"}; !reflect.DeepEqual(names, want) {
			t.Fatalf("candidates = %v, want %v", names, want)
		}
		if got, err := c.DedupeCandidates(ctx, 5, a.MD510M); err != nil || len(got) != 0 {
			t.Fatalf("DedupeCandidates(no match) = %v, %v", got, err)
		}
	})
}

func TestTorrentUpdatesAndStates(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		u := mustUser(t, c, RoleUser)
		tor := mustTorrent(t, c, u.ID, mustVolume(t, c, "vol1"), "x", 1000)
		title, cat, empty := "Lecture notes", "courses", " "
		if err := c.UpdateTorrent(ctx, tor.InfoHash, &title, &cat, nil); err != nil {
			t.Fatal(err)
		}
		if err := c.UpdateTorrent(ctx, tor.InfoHash, &empty, nil, nil); !errors.Is(err, ErrInvalid) {
			t.Fatalf("UpdateTorrent(blank title) = %v, want ErrInvalid", err)
		}
		if err := c.UpdateTorrent(ctx, strings.Repeat("0", 40), &title, nil, nil); !errors.Is(err, ErrNotFound) {
			t.Fatalf("UpdateTorrent(unknown) = %v, want ErrNotFound", err)
		}
		steps := []struct {
			state      TorrentState
			wantPurged bool
		}{
			{StatePurged, true},
			{StateActive, false},
			{StateDeleted, false},
		}
		last := tor.UpdatedAt
		for _, s := range steps {
			time.Sleep(2 * time.Millisecond)
			if err := c.SetTorrentState(ctx, tor.InfoHash, s.state); err != nil {
				t.Fatalf("SetTorrentState(%s): %v", s.state, err)
			}
			got, err := c.TorrentByInfoHash(ctx, tor.InfoHash)
			if err != nil {
				t.Fatalf("TorrentByInfoHash after %s: %v", s.state, err)
			}
			if got.State != s.state || got.PurgedAt.IsZero() == s.wantPurged || !got.UpdatedAt.After(last) {
				t.Fatalf("after %s: state %s purged_at %v updated_at %v (was %v)", s.state, got.State, got.PurgedAt, got.UpdatedAt, last)
			}
			if got.Title != title || got.Category != cat || got.Description != "" {
				t.Fatalf("text fields changed: %+v", got)
			}
			last = got.UpdatedAt
		}
		if err := c.SetTorrentState(ctx, tor.InfoHash, "gone"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("SetTorrentState(gone) = %v, want ErrInvalid", err)
		}
		if err := c.PurgeTorrent(ctx, tor.InfoHash, "stale"); err != nil {
			t.Fatal(err)
		}
		if err := c.SetPinned(ctx, tor.InfoHash, true); err != nil {
			t.Fatal(err)
		}
		got, err := c.TorrentByInfoHash(ctx, tor.InfoHash)
		if err != nil || got.PurgeReason != "stale" || !got.Pinned || got.State != StatePurged {
			t.Fatalf("after purge and pin: %+v, %v", got, err)
		}
	})
}
