package node

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/seedbox"
)

// replicaCatalog adapts the catalog to what the replicator and the scrubber
// need.
type replicaCatalog struct{ c *catalog.Catalog }

func (rc replicaCatalog) ActiveReplicas(ctx context.Context) ([]seedbox.ReplicaRecord, error) {
	rows, err := rc.c.ActiveReplicas(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]seedbox.ReplicaRecord, len(rows))
	for i, r := range rows {
		out[i] = seedbox.ReplicaRecord{TorrentID: r.TorrentID, InfoHash: r.InfoHash, Size: r.Size,
			VolumeID: r.VolumeID, Volume: r.VolumeName, VolumeState: r.VolumeState, Node: r.Node, State: r.State,
			NodeOnline: r.NodeOnline}
	}
	return out, nil
}

func (rc replicaCatalog) SetReplicaState(ctx context.Context, infoHash string, volumeID uint64, node, state string) error {
	return rc.c.SetReplicaStateByHash(ctx, infoHash, volumeID, node, state)
}

func (rc replicaCatalog) ClaimReplica(ctx context.Context, infoHash string, volumeID uint64, node string, want int) (bool, error) {
	return rc.c.ClaimReplica(ctx, infoHash, volumeID, node, want)
}

func (rc replicaCatalog) VolumeStates(ctx context.Context) ([]seedbox.VolumeRecord, error) {
	vols, err := rc.c.Volumes(ctx)
	if err != nil {
		return nil, err
	}
	online, err := rc.c.OnlineNodes(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]seedbox.VolumeRecord, len(vols))
	for i, v := range vols {
		out[i] = seedbox.VolumeRecord{ID: v.ID, Name: v.Name, Node: v.Node, State: v.State, NodeOnline: online[v.Node]}
	}
	return out, nil
}

func (rc replicaCatalog) InfoBytes(ctx context.Context, infoHash string) ([]byte, error) {
	return rc.c.InfoBytes(ctx, infoHash)
}

// buildReplication opens the volumes' ledgers (what was verified, and
// whether the last shutdown was clean) and builds the replicator and the
// scrubber. The seeder must exist already.
func (n *Node) buildReplication() error {
	cfg := n.cfg.Seedbox
	cat := replicaCatalog{n.Catalog}
	n.Replicator = seedbox.NewReplicator(seedbox.ReplicatorOptions{
		Catalog: cat, Volumes: n.Volumes, Checker: n.Checker, Seeder: n.Seeder,
		Fetcher: n.Seeder, Node: cfg.Node, Replicas: cfg.Replicas, Every: cfg.CheckInterval.D(),
		Rate: int64(cfg.ReplicationRate), Logger: n.log,
	})
	// Ready means seeding what this node held, once checked again.
	n.Seeder.ReadyAfter(n.Replicator.Settled())
	n.Scrubber = seedbox.NewScrubber(seedbox.ScrubOptions{
		Catalog: cat, Volumes: n.Volumes, Checker: n.Checker, Node: cfg.Node,
		Rate: int64(cfg.ScrubRate), Logger: n.log,
	})
	return nil
}

// openChecker opens the ledgers of this node's volumes.
func (n *Node) openChecker() error {
	c, err := seedbox.NewChecker(n.Volumes, n.log)
	if err != nil {
		return fmt.Errorf("seedbox: %w", err)
	}
	n.Checker = c
	return nil
}

// metrics serves the tracker's metrics (when it runs here) followed by the
// seedbox's: scrub progress and replication counters.
func (n *Node) metrics(w http.ResponseWriter, r *http.Request) {
	if n.Tracker != nil {
		n.Tracker.MetricsHandler().ServeHTTP(w, r)
	} else {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	}
	if n.Scrubber != nil {
		writeSeedboxMetrics(w, n.Scrubber.Progress(), n.Replicator, n.Seeder)
	}
}

func writeSeedboxMetrics(w io.Writer, p seedbox.ScrubProgress, rep *seedbox.Replicator, s *seedbox.Seeder) {
	running := 0
	if p.Running {
		running = 1
	}
	copies, patches, failures := rep.Stats()
	fmt.Fprintf(w, "# HELP seedbed_scrub_running Whether a scrub pass is running.\n# TYPE seedbed_scrub_running gauge\nseedbed_scrub_running %d\n", running)
	fmt.Fprintf(w, "# HELP seedbed_scrub_bytes_done Bytes verified in the current or last scrub pass.\n# TYPE seedbed_scrub_bytes_done gauge\nseedbed_scrub_bytes_done{volume=%q} %d\n", p.Volume, p.Done)
	fmt.Fprintf(w, "# HELP seedbed_scrub_bytes_total Bytes the current or last scrub pass covers.\n# TYPE seedbed_scrub_bytes_total gauge\nseedbed_scrub_bytes_total{volume=%q} %d\n", p.Volume, p.Total)
	fmt.Fprintf(w, "# HELP seedbed_scrub_passes_total Scrub passes finished.\n# TYPE seedbed_scrub_passes_total counter\nseedbed_scrub_passes_total %d\n", p.Passes)
	fmt.Fprintf(w, "# HELP seedbed_scrub_corrupt_total Corrupt replicas the scrub found.\n# TYPE seedbed_scrub_corrupt_total counter\nseedbed_scrub_corrupt_total %d\n", p.Corrupt)
	fmt.Fprintf(w, "# HELP seedbed_replica_copies_total Replicas copied and verified.\n# TYPE seedbed_replica_copies_total counter\nseedbed_replica_copies_total %d\n", copies)
	fmt.Fprintf(w, "# HELP seedbed_replica_patches_total Corrupt replicas repaired piece by piece.\n# TYPE seedbed_replica_patches_total counter\nseedbed_replica_patches_total %d\n", patches)
	fmt.Fprintf(w, "# HELP seedbed_replica_failures_total Replication passes that failed for a torrent.\n# TYPE seedbed_replica_failures_total counter\nseedbed_replica_failures_total %d\n", failures)
	fmt.Fprintf(w, "# HELP seedbed_seeding_torrents Torrents in the seeding client.\n# TYPE seedbed_seeding_torrents gauge\nseedbed_seeding_torrents %d\n", s.Count())
}
