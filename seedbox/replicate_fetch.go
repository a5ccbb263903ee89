package seedbox

import (
	"context"
	"fmt"
	"time"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// Fetch makes dst hold a replica of a torrent this node has no good copy of
// by downloading it from the swarm, like any peer: the torrent is added to
// the seeding client with its storage on dst (straight into the torrent's
// folder there, resuming whatever pieces are already in place) and announced
// to our tracker, which hands out the other nodes' seedboxes. anacrolix
// checks each piece as it arrives; when all are in, the Checker verifies
// the whole replica once more and records it. The torrent then stays in the
// client, seeded from dst. It implements Fetcher.
func (s *Seeder) Fetch(ctx context.Context, infoHash string, info *metainfo.Info, dst Volume) error {
	var ih metainfo.Hash
	if err := ih.FromHexString(infoHash); err != nil {
		return fmt.Errorf("fetch %q: %w", infoHash, err)
	}
	infoBytes, err := bencode.Marshal(info)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", infoHash, err)
	}
	st, err := s.storageFor(dst.Name)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", infoHash, err)
	}
	s.Drop(infoHash) // a replica served from elsewhere is not wanted any more
	s.mu.Lock()
	s.fetching[ih] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.fetching, ih)
		s.mu.Unlock()
	}()
	t, _ := s.cl.AddTorrentOpt(torrent.AddTorrentOpts{InfoHash: ih, InfoBytes: infoBytes, Storage: st})
	if u := s.announceURL(ih); u != "" {
		t.AddTrackers([][]string{{u}})
	}
	s.mu.Lock()
	s.torrents[ih] = seeded{t: t, volume: dst.Name}
	s.mu.Unlock()
	s.log.Info("fetching replica from the swarm", "info_hash", infoHash, "volume", dst.Name, "bytes", info.TotalLength())
	t.DownloadAll()
	select {
	case <-t.Complete().On():
	case <-ctx.Done():
		s.Drop(infoHash)
		return ctx.Err()
	}
	if s.opts.Checker != nil {
		res, _, err := s.opts.Checker.Check(ctx, dst.Name, infoHash, info)
		if err == nil && !res.OK() {
			err = fmt.Errorf("%w: %d bad pieces after download", ErrReplicaBad, len(res.Bad))
		}
		if err != nil {
			s.Drop(infoHash)
			return fmt.Errorf("fetch %s to %s: %w", infoHash, dst.Name, err)
		}
	}
	return nil
}

// loadRemote reads which active volumes other nodes that are online have.
func (r *Replicator) loadRemote(ctx context.Context) error {
	vols, err := r.opts.Catalog.VolumeStates(ctx)
	if err != nil {
		return err
	}
	var remote []VolumeRecord
	for _, v := range vols {
		if v.Node != r.opts.Node && v.State == StateActive && v.NodeOnline {
			remote = append(remote, v)
		}
	}
	r.mu.Lock()
	r.remote = remote
	r.mu.Unlock()
	return nil
}

// leaveToOtherNodes tells whether a torrent short of replicas should wait
// for another node to fetch it (replicas prefer distinct nodes): some other
// online node has an active volume and no replica of it, or is making one,
// and the torrent has been short for less than three passes. After that this
// node copies it to its own volumes, so a dead node delays but never
// prevents a replica.
func (r *Replicator) leaveToOtherNodes(ih string, recs []ReplicaRecord) bool {
	nodes := map[string]bool{} // other nodes already holding a replica
	pending := false
	for _, rec := range recs {
		if rec.Node != r.opts.Node && rec.NodeOnline {
			nodes[rec.Node] = true
			pending = pending || rec.State == ReplicaCopying || rec.State == ReplicaPending
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	free := false
	for _, v := range r.remote {
		free = free || !nodes[v.Node]
	}
	if !free && !pending {
		return false
	}
	first, ok := r.short[ih]
	if !ok {
		first = time.Now()
		r.short[ih] = first
	}
	return time.Since(first) < 3*r.opts.Every
}

// fetch handles a torrent with no good replica on this node but a verified
// one on another: a broken local replica is fetched again where it is; else,
// while the torrent has fewer than Replicas verified or copying replicas,
// this node claims one on its most free active volume and fetches it.
func (r *Replicator) fetch(ctx context.Context, ih string, info *metainfo.Info, recs []ReplicaRecord, remoteGood int) error {
	if r.opts.Fetcher == nil || remoteGood == 0 {
		return nil
	}
	dst, found := Volume{}, false
	held := map[string]bool{} // this node's volumes holding a replica
	for _, rec := range recs {
		v, ok := r.localVolume(rec)
		if !ok {
			continue
		}
		held[v.Name] = true
		if !found && v.State != StateMaintenance {
			dst, found = v, true
		}
	}
	if found {
		if err := r.setState(ctx, ih, dst, ReplicaCopying); err != nil {
			return err
		}
	} else {
		v, ok := r.target(held, info.TotalLength())
		if !ok {
			return nil
		}
		claimed, err := r.opts.Catalog.ClaimReplica(ctx, ih, v.ID, r.opts.Node, r.opts.Replicas)
		if err != nil || !claimed {
			return err
		}
		dst = v
	}
	start := time.Now()
	if err := r.opts.Fetcher.Fetch(ctx, ih, info, dst); err != nil {
		return fmt.Errorf("fetch %s to %s: %w", ih, dst.Name, err)
	}
	return r.verified(ctx, dst, ih, info, "fetched", start)
}
