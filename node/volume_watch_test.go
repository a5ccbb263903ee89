package node

import (
	"testing"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/seedbox"
)

func TestPlacementPolicy(t *testing.T) {
	vols := []seedbox.Volume{{Name: "a"}, {Name: "b"}}
	tests := []struct {
		name                string
		settings            map[string]string
		wantPolicy, wantVol string
	}{
		{"config when nothing is set", nil, seedbox.PlaceMostFree, ""},
		{"forced to a volume of this node", map[string]string{catalog.SettingPlacement: "forced", catalog.SettingForceVolume: "b"}, seedbox.PlaceForced, "b"},
		{"forced to this node's volume by node and name", map[string]string{catalog.SettingPlacement: "forced", catalog.SettingForceVolume: "n1/a"}, seedbox.PlaceForced, "a"},
		{"the same name on another node leaves this node on its config", map[string]string{catalog.SettingPlacement: "forced", catalog.SettingForceVolume: "n2/a"}, seedbox.PlaceMostFree, ""},
		{"forced elsewhere leaves this node on its config", map[string]string{catalog.SettingPlacement: "forced", catalog.SettingForceVolume: "z"}, seedbox.PlaceMostFree, ""},
		{"round robin set at runtime", map[string]string{catalog.SettingPlacement: "round-robin"}, seedbox.PlaceRoundRobin, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, f := placementPolicy(tt.settings, "n1", vols, seedbox.PlaceMostFree, "")
			if p != tt.wantPolicy || f != tt.wantVol {
				t.Errorf("got %s %q, want %s %q", p, f, tt.wantPolicy, tt.wantVol)
			}
		})
	}
}
