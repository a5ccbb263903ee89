package catalog

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"
)

// TestVolumeUsageReports: nodes report their volumes' usage; the read
// returns the volumes of online nodes with the report time, leaves out
// (and names) the nodes that are offline or never beat, and keeps a volume
// never reported with a zero time.
func TestVolumeUsageReports(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		for _, v := range []Volume{{Name: "a", Node: "n1"}, {Name: "b", Node: "n1"}, {Name: "a", Node: "n2"},
			{Name: "c", Node: "n2"}, {Name: "a", Node: "n3"}, {Name: "a", Node: "n4"}, {Name: "capped", Node: "n2"}} {
			v.Path = "/srv/" + v.Node + "/" + v.Name
			info := VolumeInfo{Volume: v}
			if v.Name == "capped" {
				info.Capacity = 1000
			}
			if _, err := c.RegisterVolume(ctx, info); err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range []string{"n1", "n2", "n3"} {
			if err := c.Heartbeat(ctx, Node{Name: n}); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.NodeStopped(ctx, "n3"); err != nil { // n3 offline; n4 never beat
			t.Fatal(err)
		}
		before := now()
		must := func(err error) {
			t.Helper()
			if err != nil {
				t.Fatal(err)
			}
		}
		must(c.ReportVolumeUsage(ctx, "n1", []VolumeUsageReport{{Name: "a", Used: 10, Capacity: 100},
			{Name: "b", Used: 20, Capacity: 200}, {Name: "gone", Used: 1, Capacity: 2}}))
		must(c.ReportVolumeUsage(ctx, "n2", []VolumeUsageReport{{Name: "a", Used: 5, Capacity: 50},
			{Name: "capped", Used: 999, Capacity: 1000}}))
		measured := before.Add(-time.Hour)
		must(c.ReportVolumeUsage(ctx, "n1", []VolumeUsageReport{{Name: "b", Used: 20, Capacity: 200, MeasuredAt: measured}}))
		// A purge deleting data on n2/a records when.
		infos, err := c.VolumeInfos(ctx, "n2")
		must(err)
		must(c.FinishPurgeReplica(ctx, 999, infos[0].ID))
		must(c.ReportVolumeUsage(ctx, "n3", []VolumeUsageReport{{Name: "a", Used: 99, Capacity: 100}}))
		// A later report replaces the earlier one.
		must(c.ReportVolumeUsage(ctx, "n1", []VolumeUsageReport{{Name: "a", Used: 90, Capacity: 100}}))
		after := now()
		if err := c.ReportVolumeUsage(ctx, "n1", []VolumeUsageReport{{Name: "a", Used: -1}}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("negative usage: %v, want ErrInvalid", err)
		}

		snap, err := c.OnlineVolumeUsage(ctx)
		must(err)
		if want := []string{"n3", "n4"}; !reflect.DeepEqual(snap.Offline, want) {
			t.Fatalf("offline %v, want %v", snap.Offline, want)
		}
		type got struct {
			Node, Name     string
			Used, Capacity int64
			Reported       bool
			Capped, Freed  bool
		}
		var gots []got
		for _, v := range snap.Volumes {
			gots = append(gots, got{v.Node, v.Name, v.Used, v.Capacity, !v.At.IsZero(), v.Capped, !v.FreedAt.IsZero()})
			if v.Node == "n1" && v.Name == "b" {
				if !v.At.Equal(measured.UTC().Truncate(time.Microsecond)) {
					t.Fatalf("n1/b measured at %v, want %v", v.At, measured)
				}
				continue
			}
			if !v.FreedAt.IsZero() && (v.FreedAt.Before(before) || v.FreedAt.After(now())) {
				t.Fatalf("%s/%s freed at %v", v.Node, v.Name, v.FreedAt)
			}
			if !v.At.IsZero() && (v.At.Before(before) || v.At.After(now()) || v.At.Location() != time.UTC) {
				t.Fatalf("%s/%s reported at %v, not within [%v, %v] UTC", v.Node, v.Name, v.At, before, after)
			}
		}
		// The capped volume's content is the catalog's count (nothing), not
		// the report.
		want := []got{{"n1", "a", 90, 100, true, false, false}, {"n1", "b", 20, 200, true, false, false},
			{"n2", "a", 5, 50, true, false, true}, {"n2", "c", 0, 0, false, false, false}, {"n2", "capped", 0, 1000, true, true, false}}
		if !reflect.DeepEqual(gots, want) {
			t.Fatalf("usage\n got %+v\nwant %+v", gots, want)
		}
	})
}
