package tracker

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// Announce is the protocol-independent announce logic (BEP 3), shared by the
// HTTP and UDP frontends: it checks the passkey and the allow-list, updates
// the swarm, counts a snatch, credits traffic, and fills resp with the peers,
// the swarm's counts and the interval. resp.Peers is reused. A failure the
// client should see is a ClientError.
func (t *Tracker) Announce(ctx context.Context, req *AnnounceRequest, resp *AnnounceResponse) error {
	user, err := t.access.authorize(req.Passkey)
	if err != nil {
		return err
	}
	torrentID, ok := t.access.Torrent(req.InfoHash)
	if !ok {
		return errNotRegistered
	}
	if err := req.validate(); err != nil {
		return err
	}
	now := t.clock.now()
	p := NewPeer(req.PeerID, netip.AddrPortFrom(req.IP, req.Port), req.Left == 0, now)
	if err := t.updateSwarm(ctx, req, &p); err != nil {
		return err
	}
	snatched, err := t.snatch(ctx, user, req)
	if err != nil {
		return err
	}
	if t.ledger != nil {
		t.ledger.record(user, torrentID, req, snatched, now)
	}
	return t.fillResponse(ctx, user, req, &p, resp)
}

// validate checks what the parser cannot: the values a UDP frontend copies
// from the wire unchecked, and the port that only a stopped peer may omit.
func (r *AnnounceRequest) validate() error {
	switch {
	case !r.IP.IsValid():
		return errInvalidAddress
	case r.Port == 0 && r.Event != EventStopped:
		return errInvalidPort
	case r.Uploaded < 0:
		return errInvalidUploaded
	case r.Downloaded < 0:
		return errInvalidDownload
	case r.Left < 0:
		return errInvalidLeft
	}
	return nil
}

// updateSwarm records the peer, or removes it on event=stopped.
func (t *Tracker) updateSwarm(ctx context.Context, req *AnnounceRequest, p *Peer) error {
	if req.Event == EventStopped {
		if err := t.store.RemovePeer(ctx, req.InfoHash, *p); err != nil {
			return fmt.Errorf("remove peer: %w", err)
		}
		return nil
	}
	if err := t.store.PutPeer(ctx, req.InfoHash, *p); err != nil {
		return fmt.Errorf("put peer: %w", err)
	}
	if req.Event == EventStarted && req.Left > 0 && t.opts.OnLeecher != nil {
		t.opts.OnLeecher(req.InfoHash, p.AddrPort())
	}
	return nil
}

// snatch counts event=completed once per (torrent, peer_id). The seedbox's
// own downloads (replication) are not snatches.
func (t *Tracker) snatch(ctx context.Context, u User, req *AnnounceRequest) (bool, error) {
	if req.Event != EventCompleted || u.Seedbox {
		return false, nil
	}
	first, err := t.store.Snatch(ctx, req.InfoHash, req.PeerID)
	if err != nil {
		return false, fmt.Errorf("count snatch: %w", err)
	}
	return first, nil
}

func (t *Tracker) fillResponse(ctx context.Context, u User, req *AnnounceRequest, p *Peer, resp *AnnounceResponse) error {
	peers, err := t.store.AppendPeers(ctx, req.InfoHash, *p, t.numWant(req), resp.Peers[:0])
	if err != nil {
		return fmt.Errorf("collect peers: %w", err)
	}
	resp.Peers = peers
	resp.SwarmCounts, err = t.store.Counts(ctx, req.InfoHash)
	if err != nil {
		return fmt.Errorf("swarm counts: %w", err)
	}
	resp.Interval, resp.MinInterval = t.intervals(u, req, resp.SwarmCounts)
	return nil
}

// numWant is how many peers to hand out: none to a stopped peer.
func (t *Tracker) numWant(req *AnnounceRequest) int {
	switch {
	case req.Event == EventStopped:
		return 0
	case req.NumWant < 0:
		return t.opts.NumWantDefault
	}
	return min(req.NumWant, t.opts.NumWantMax)
}

// intervals returns "interval" and "min interval". A seedbox gets
// SeedboxInterval while other peers of its swarm are leeching and
// SeedboxIdleInterval otherwise; everyone else
// gets Interval ±10%, the jitter fixed per (peer, torrent) so that re-announces
// spread out.
func (t *Tracker) intervals(u User, req *AnnounceRequest, c SwarmCounts) (interval, minInterval time.Duration) {
	others := c.Leechers
	if req.Left > 0 && req.Event != EventStopped {
		others-- // the seedbox itself is leeching
	}
	if u.Seedbox {
		d := t.opts.SeedboxIdleInterval
		if others > 0 {
			d = t.opts.SeedboxInterval
		}
		return d, halfAtLeastSecond(d)
	}
	seed := binary.LittleEndian.Uint32(req.PeerID[16:]) ^ binary.LittleEndian.Uint32(req.InfoHash[:4])
	return jitter(t.opts.Interval, seed), halfAtLeastSecond(t.opts.Interval)
}

// jitter spreads d by up to ±10% by seed, in whole seconds.
func jitter(d time.Duration, seed uint32) time.Duration {
	permille := int64(seed%201) - 100 // -100..100
	d += time.Duration(int64(d) * permille / 1000)
	return max(d.Truncate(time.Second), time.Second)
}

func halfAtLeastSecond(d time.Duration) time.Duration {
	return max((d / 2).Truncate(time.Second), time.Second)
}
