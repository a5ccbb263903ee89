package seedbox

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestPlacementAtRuntime(t *testing.T) {
	t.Run("most free picks the volume with the most room", func(t *testing.T) {
		vols := testVolumes(t, StateActive, StateActive)
		vols[0].Capacity, vols[0].Used = 1<<40, 1<<40-(10<<20) // 10 MiB left under its cap
		vs, _ := NewVolumes(vols, PlaceMostFree, "")
		for range 3 {
			if v, err := vs.Place(1); err != nil || v.Name != "b" {
				t.Fatalf("most free gave %v %v", v.Name, err)
			}
		}
	})
	t.Run("forced takes every upload until released, then most free again", func(t *testing.T) {
		vols := testVolumes(t, StateActive, StateActive)
		vols[1].Capacity, vols[1].Used = 1<<40, 1<<40-(10<<20)
		vs, _ := NewVolumes(vols, PlaceMostFree, "")
		if err := vs.Update(vs.List(), PlaceForced, "b"); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			if v, err := vs.Place(1); err != nil || v.Name != "b" {
				t.Fatalf("forced gave %v %v", v.Name, err)
			}
		}
		vs.Update(vs.List(), PlaceMostFree, "")
		if v, _ := vs.Place(1); v.Name != "a" {
			t.Errorf("after release placement gave %s, want the emptier a", v.Name)
		}
	})
	t.Run("readonly takes nothing, also when it was forced", func(t *testing.T) {
		vs, _ := NewVolumes(testVolumes(t, StateActive, StateActive), PlaceRoundRobin, "")
		vols := vs.List()
		vols[0].State = StateReadonly
		vs.Update(vols, PlaceRoundRobin, "")
		for range 6 {
			if v, err := vs.Place(1); err != nil || v.Name != "b" {
				t.Fatalf("round robin gave %v %v with a readonly", v.Name, err)
			}
		}
		vs.Update(vols, PlaceForced, "a")
		if _, err := vs.Place(1); !errors.Is(err, ErrNoVolume) {
			t.Errorf("forced to a readonly volume: %v, want ErrNoVolume", err)
		}
		vols[1].State = StateMaintenance
		vs.Update(vols, PlaceMostFree, "")
		if _, err := vs.Place(1); !errors.Is(err, ErrNoVolume) {
			t.Errorf("only readonly and maintenance: %v, want ErrNoVolume", err)
		}
	})
	t.Run("reserve and capacity cap hold for forced placement too", func(t *testing.T) {
		vols := testVolumes(t, StateActive)
		vols[0].Reserve = 1 << 62
		vs, _ := NewVolumes(vols, PlaceForced, "a")
		if _, err := vs.Place(1); !errors.Is(err, ErrNoVolume) {
			t.Errorf("forced below the reserve: %v, want ErrNoVolume", err)
		}
		vols[0].Reserve, vols[0].Capacity, vols[0].Used = 1<<20, 100<<20, 99<<20+1
		vs.Update(vols, PlaceForced, "a")
		if _, err := vs.Place(1); !errors.Is(err, ErrNoVolume) {
			t.Errorf("cap leaves less than the reserve: %v, want ErrNoVolume", err)
		}
		if _, err := vs.Place(-1); !errors.Is(err, ErrNoVolume) {
			t.Errorf("unknown size: %v, want ErrNoVolume", err)
		}
		vols[0].Used = 50 << 20
		vs.Update(vols, PlaceForced, "a")
		if _, err := vs.Place(40 << 20); err != nil {
			t.Errorf("40 MiB into 50 MiB free over a 1 MiB reserve: %v", err)
		}
		if _, err := vs.Place(49<<20 + 1); !errors.Is(err, ErrNoVolume) {
			t.Errorf("upload eating into the reserve: %v, want ErrNoVolume", err)
		}
	})
	t.Run("update adds volumes and maintenance is not readable", func(t *testing.T) {
		vs, _ := NewVolumes(testVolumes(t, StateActive), PlaceMostFree, "")
		added := Volume{ID: 9, Name: "new", Path: filepath.Join(t.TempDir(), "new"), State: StateActive}
		vols := append(vs.List(), added)
		vols[0].State = StateMaintenance
		if err := vs.Update(vols, PlaceForced, "new"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(added.StagingDir()); err != nil {
			t.Errorf("added volume not prepared: %v", err)
		}
		if vs.Readable("a") || !vs.Readable("new") || vs.Readable("missing") {
			t.Error("Readable: want a (maintenance) and missing unreadable, new readable")
		}
		if p, f := vs.Policy(); p != PlaceForced || f != "new" {
			t.Errorf("policy %s %s", p, f)
		}
		if v, err := vs.Place(1); err != nil || v.Name != "new" {
			t.Errorf("forced to the added volume: %v %v", v.Name, err)
		}
	})
}

func TestUsage(t *testing.T) {
	v := testVolumes(t, StateActive)[0]
	os.MkdirAll(v.Path, 0o755)
	used, capa, err := v.Usage()
	if err != nil || capa <= 0 || used < 0 || used > capa {
		t.Errorf("file system usage %d of %d: %v", used, capa, err)
	}
	v.Capacity, v.Used = 1000, 250
	if used, capa, _ := v.Usage(); used != 250 || capa != 1000 {
		t.Errorf("capped usage %d of %d", used, capa)
	}
	if free, _ := v.Free(); free != 750 {
		t.Errorf("capped free %d, want 750", free)
	}
}
