package node

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/seedbox"
)

// volumePollEvery is how often a node reads its volumes and the placement
// settings from the catalog, so `seedbed volume ...` takes effect without a
// restart.
const volumePollEvery = 2 * time.Second

// LocalVolumes returns a node's volumes as the catalog has them (the
// configured ones and those added with `seedbed volume add`), with the
// content each holds.
func LocalVolumes(ctx context.Context, cat *catalog.Catalog, node string) ([]seedbox.Volume, error) {
	infos, err := cat.VolumeInfos(ctx, node)
	if err != nil {
		return nil, err
	}
	vols := make([]seedbox.Volume, len(infos))
	for i, v := range infos {
		vols[i] = seedbox.Volume{ID: v.ID, Name: v.Name, Path: v.Path, State: v.State,
			Reserve: v.Reserve, Capacity: v.Capacity, Used: v.Bytes}
	}
	return vols, nil
}

// placementPolicy is the configured placement unless an administrator set
// one in the catalog (`seedbed volume force`). A volume forced that is not
// one of this node's leaves this node on its configured policy.
func placementPolicy(settings map[string]string, node string, vols []seedbox.Volume, policy, forced string) (string, string) {
	if p := settings[catalog.SettingPlacement]; p != "" {
		fnode, f := catalog.ParseForcedVolume(settings[catalog.SettingForceVolume])
		if p != seedbox.PlaceForced {
			return p, ""
		}
		if (fnode == "" || fnode == node) && slices.ContainsFunc(vols, func(v seedbox.Volume) bool { return v.Name == f }) {
			return p, f
		}
	}
	return policy, forced
}

// volumeSetup reads this node's volumes and placement policy.
func (n *Node) volumeSetup(ctx context.Context) ([]seedbox.Volume, string, string, error) {
	vols, err := LocalVolumes(ctx, n.Catalog, n.cfg.Seedbox.Node)
	if err != nil {
		return nil, "", "", err
	}
	settings, err := n.Catalog.Settings(ctx)
	if err != nil {
		return nil, "", "", err
	}
	policy, forced := placementPolicy(settings, n.cfg.Seedbox.Node, vols, n.cfg.Seedbox.Placement, n.cfg.Seedbox.ForceVolume)
	return vols, policy, forced, nil
}

// watchVolumes applies volume and placement changes made in the catalog
// until ctx ends.
func (n *Node) watchVolumes(ctx context.Context) error {
	tick := time.NewTicker(volumePollEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := n.syncVolumes(ctx); err != nil && ctx.Err() == nil {
			n.log.Warn("read volumes from the catalog", "err", err)
		}
	}
}

func (n *Node) syncVolumes(ctx context.Context) error {
	vols, policy, forced, err := n.volumeSetup(ctx)
	if err != nil {
		return err
	}
	n.logVolumeChanges(vols, policy, forced)
	if err := n.Volumes.Update(vols, policy, forced); err != nil {
		return fmt.Errorf("apply volume changes: %w", err)
	}
	return nil
}

// logVolumeChanges reports state and policy changes administrators made.
func (n *Node) logVolumeChanges(vols []seedbox.Volume, policy, forced string) {
	oldPolicy, oldForced := n.Volumes.Policy()
	if policy != oldPolicy || forced != oldForced {
		n.log.Info("placement changed", "policy", policy, "volume", forced)
	}
	for _, v := range vols {
		old, ok := n.Volumes.ByName(v.Name)
		switch {
		case !ok:
			n.log.Info("volume added", "volume", v.Name, "path", v.Path, "state", v.State)
		case old.State != v.State || old.Path != v.Path:
			n.log.Info("volume changed", "volume", v.Name, "path", v.Path, "state", v.State)
		}
	}
}
