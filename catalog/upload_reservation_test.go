package catalog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Two catalog handles on one database (two nodes) reserve uploads of one
// group's members at the same moment: the group's quota is never exceeded,
// and exactly as many reservations as fit succeed. Likewise one user's own
// quota. On SQLite and PostgreSQL.
func TestReserveUploadConcurrentNeverExceedsQuota(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			url := testURL(t, d)
			a, b := openTest(t, url), openTest(t, url)
			ctx := context.Background()
			gq := int64(1000)
			g, err := a.CreateGroup(ctx, "Dorm R", &gq)
			if err != nil {
				t.Fatal(err)
			}
			var members []*User
			for range 4 {
				u := mustUser(t, a, RoleUser)
				if err := a.SetUserGroup(ctx, u.ID, &g.ID); err != nil {
					t.Fatal(err)
				}
				members = append(members, u)
			}
			vol := mustVolume(t, a, "r1")
			mustTorrent(t, a, members[0].ID, vol, "stored-r", 200) // 800 left

			var wg sync.WaitGroup
			var mu sync.Mutex
			ok, over := 0, 0
			for i := range 40 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := a
					if i%2 == 1 {
						c = b
					}
					err := c.ReserveUpload(ctx, UploadReservation{UploadID: fmt.Sprintf("g-%d", i),
						UserID: members[i%len(members)].ID, Node: fmt.Sprintf("n%d", i%2+1), VolumeID: vol.ID, Size: 100}, 0)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						ok++
					case errors.Is(err, ErrOverQuota):
						over++
					default:
						t.Errorf("reserve %d: %v", i, err)
					}
				}()
			}
			wg.Wait()
			if ok != 8 || over != 32 {
				t.Fatalf("%d reservations succeeded and %d were over quota; want 8 and 32", ok, over)
			}
			if got := reservedBytes(t, a); got != 800 {
				t.Fatalf("reserved %d bytes, want 800", got)
			}

			// One user's own quota, through the default quota.
			solo := mustUser(t, a, RoleUser)
			ok = 0
			for i := range 20 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := a
					if i%2 == 1 {
						c = b
					}
					err := c.ReserveUpload(ctx, UploadReservation{UploadID: fmt.Sprintf("u-%d", i), UserID: solo.ID, Size: 300}, 1000)
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						ok++
					} else if !errors.Is(err, ErrOverQuota) {
						t.Errorf("reserve %d: %v", i, err)
					}
				}()
			}
			wg.Wait()
			if ok != 3 {
				t.Fatalf("%d reservations of 300 bytes fit a 1000-byte quota; want 3", ok)
			}
		})
	}
}

func reservedBytes(t *testing.T, c *Catalog) int64 {
	t.Helper()
	var n int64
	if err := c.w.Raw("SELECT COALESCE(SUM(size), 0) FROM upload_reservations").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestUploadReservationLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		u := mustUser(t, c, RoleUser)
		q := int64(1000)
		if err := c.SetUserQuota(ctx, u.ID, &q); err != nil {
			t.Fatal(err)
		}
		v1, v2 := mustVolume(t, c, "l1"), mustVolume(t, c, "l2")
		r := UploadReservation{UploadID: "a", UserID: u.ID, Node: "n1", VolumeID: v1.ID, Folder: "f1", Key: "k1", Size: 600}
		if err := c.ReserveUpload(ctx, r, 0); err != nil {
			t.Fatal(err)
		}
		var qe *QuotaError
		if err := c.ReserveUpload(ctx, UploadReservation{UploadID: "b", UserID: u.ID, Size: 500}, 0); !errors.As(err, &qe) ||
			qe.Group != "" || qe.Limit != 1000 || qe.Used != 600 || qe.Size != 500 {
			t.Fatalf("over the user quota: %v", err)
		}
		var fe *FolderElsewhereError
		if err := c.ReserveUpload(ctx, UploadReservation{UploadID: "c", UserID: u.ID, Node: "n2", VolumeID: v2.ID, Folder: "f1", Size: 1}, 0); !errors.As(err, &fe) ||
			fe.VolumeID != v1.ID || fe.Node != "n1" {
			t.Fatalf("folder on another volume: %v", err)
		}
		if err := c.ReserveUpload(ctx, UploadReservation{UploadID: "d", UserID: u.ID, Node: "n1", VolumeID: v1.ID, Folder: "f1", Size: 1}, 0); err != nil {
			t.Fatalf("folder on its volume: %v", err)
		}
		if err := c.ReserveUpload(ctx, UploadReservation{UploadID: "e", UserID: u.ID, Key: "k1", Size: 1}, 0); !errors.Is(err, ErrConflict) {
			t.Fatalf("taken key: %v", err)
		}
		got, err := c.UploadReservationByKey(ctx, u.ID, "k1")
		if err != nil || got.UploadID != "a" || got.VolumeID != v1.ID || got.Size != 600 {
			t.Fatalf("by key: %+v %v", got, err)
		}
		if _, err := c.UploadReservationByKey(ctx, u.ID, ""); !errors.Is(err, ErrNotFound) {
			t.Fatalf("empty key: %v", err)
		}
		if f, err := c.UploadFolderReservation(ctx, u.ID, "f1"); err != nil || f.VolumeID != v1.ID {
			t.Fatalf("folder: %+v %v", f, err)
		}
		if rs, err := c.UploadReservations(ctx, "n1"); err != nil || len(rs) != 2 {
			t.Fatalf("node n1 reservations %+v %v", rs, err)
		}
		if err := c.ReleaseUploads(ctx, "a", "nonexistent"); err != nil {
			t.Fatal(err)
		}
		if err := c.ReserveUpload(ctx, UploadReservation{UploadID: "b", UserID: u.ID, Size: 500}, 0); err != nil {
			t.Fatalf("after release: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
		cut := now() // after "d" was made, before "b" is touched
		time.Sleep(5 * time.Millisecond)
		if err := c.TouchUpload(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if n, err := c.ExpireUploadReservations(ctx, cut); err != nil || n != 1 {
			t.Fatalf("expired %d, %v; want 1 (d)", n, err)
		}
		if rs, _ := c.UploadReservations(ctx, ""); len(rs) != 1 || rs[0].UploadID != "b" {
			t.Fatalf("left %+v, want b", rs)
		}
	})
}

func TestVolumeOwner(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		v := mustVolume(t, c, "o1")
		n, err := c.VolumeOwner(ctx, v.ID)
		if err != nil || n.Name != "n1" || n.Online || n.PublicURL != "" {
			t.Fatalf("before any heartbeat: %+v %v", n, err)
		}
		if err := c.Heartbeat(ctx, Node{Name: "n1", PublicURL: "http://n1.example"}); err != nil {
			t.Fatal(err)
		}
		if n, err = c.VolumeOwner(ctx, v.ID); err != nil || !n.Online || n.PublicURL != "http://n1.example" {
			t.Fatalf("online: %+v %v", n, err)
		}
		if err := c.NodeStopped(ctx, "n1"); err != nil {
			t.Fatal(err)
		}
		if n, err = c.VolumeOwner(ctx, v.ID); err != nil || n.Online {
			t.Fatalf("stopped: %+v %v", n, err)
		}
		if _, err := c.VolumeOwner(ctx, 987654); !errors.Is(err, ErrNotFound) {
			t.Fatalf("unknown volume: %v", err)
		}
	})
}
