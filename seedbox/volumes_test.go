package seedbox

import (
	"errors"
	"path/filepath"
	"testing"
)

func testVolumes(t *testing.T, states ...string) []Volume {
	t.Helper()
	dir := t.TempDir()
	var vs []Volume
	for i, s := range states {
		vs = append(vs, Volume{ID: uint64(i + 1), Name: string(rune('a' + i)), Path: filepath.Join(dir, string(rune('a'+i))), State: s})
	}
	return vs
}

func TestPlacement(t *testing.T) {
	t.Run("round robin skips readonly and maintenance", func(t *testing.T) {
		vs, err := NewVolumes(testVolumes(t, StateActive, StateReadonly, StateActive, StateMaintenance), PlaceRoundRobin, "")
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for range 10 {
			v, err := vs.Place(1)
			if err != nil {
				t.Fatal(err)
			}
			seen[v.Name]++
		}
		if seen["a"] != 5 || seen["c"] != 5 || len(seen) != 2 {
			t.Errorf("round robin placed %v, want a and c alternately", seen)
		}
	})
	t.Run("forced takes everything until released", func(t *testing.T) {
		vs, _ := NewVolumes(testVolumes(t, StateActive, StateActive), PlaceMostFree, "")
		vs.SetPolicy(PlaceForced, "b")
		for range 5 {
			if v, err := vs.Place(1); err != nil || v.Name != "b" {
				t.Fatalf("forced placement gave %v %v", v.Name, err)
			}
		}
		vs.SetPolicy(PlaceRoundRobin, "")
		names := map[string]bool{}
		for range 4 {
			v, _ := vs.Place(1)
			names[v.Name] = true
		}
		if len(names) != 2 {
			t.Errorf("after release placement used %v", names)
		}
	})
	t.Run("forced to a readonly volume refuses", func(t *testing.T) {
		vs, _ := NewVolumes(testVolumes(t, StateActive, StateReadonly), PlaceForced, "b")
		if _, err := vs.Place(1); !errors.Is(err, ErrNoVolume) {
			t.Errorf("got %v, want ErrNoVolume", err)
		}
	})
	t.Run("reserve keeps a full volume out", func(t *testing.T) {
		vols := testVolumes(t, StateActive)
		vols[0].Reserve = 1 << 62
		vs, _ := NewVolumes(vols, PlaceMostFree, "")
		if _, err := vs.Place(1); !errors.Is(err, ErrNoVolume) {
			t.Errorf("got %v, want ErrNoVolume below the reserve", err)
		}
	})
	t.Run("most free with one active", func(t *testing.T) {
		vs, _ := NewVolumes(testVolumes(t, StateReadonly, StateActive), PlaceMostFree, "")
		if v, err := vs.Place(1); err != nil || v.Name != "b" {
			t.Errorf("got %v %v", v.Name, err)
		}
	})
}

func TestTorrentDirDependsOnlyOnInfoHash(t *testing.T) {
	ih := "0123456789abcdef0123456789abcdef01234567"
	a := Volume{Path: "/mnt/one"}.TorrentDir(ih)
	if a != "/mnt/one/01/"+ih {
		t.Errorf("layout %s", a)
	}
	if b := (Volume{Path: "/srv/moved"}).TorrentDir(ih); filepath.Base(b) != filepath.Base(a) {
		t.Errorf("remounting changed the relative layout: %s vs %s", a, b)
	}
}
