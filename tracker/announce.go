package tracker

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"
)

// Announce is the protocol-independent announce logic (BEP 3), shared by the
// HTTP and UDP frontends: it checks the passkey, the client, the rate limit
// and the allow-list, stores the peer under each address it announced
// (BEP 7), counts a snatch, credits traffic, and fills resp with the peers
// ranked LAN first, the swarm's counts and the interval. resp.Peers is
// reused. A failure the client should see is a ClientError.
func (t *Tracker) Announce(ctx context.Context, req *AnnounceRequest, resp *AnnounceResponse) error {
	user, torrentID, err := t.admit(req)
	if err != nil {
		return err
	}
	now := t.clock.now()
	var self [2]Peer
	n := t.selfPeers(req, user, now, &self)
	if err := t.updateSwarm(ctx, req, self[:n]); err != nil {
		return err
	}
	snatched, err := t.snatch(ctx, user, req)
	if err != nil {
		return err
	}
	if t.ledger != nil && t.ledger.record(user, torrentID, req, snatched, now, t.minInterval) {
		t.metrics.early.add(0, 1)
	}
	return t.fillResponse(ctx, user, req, self[:n], resp)
}

// admit checks, in order, the passkey, the client (Options.AllowedClients),
// the passkey's rate limit, the allow-list and the request's values, and
// returns the user and the torrent's catalog ID.
func (t *Tracker) admit(req *AnnounceRequest) (User, uint64, error) {
	user, err := t.access.authorize(req.Passkey)
	if err != nil {
		return User{}, 0, err
	}
	if err := t.clients.check(&req.PeerID); err != nil {
		return User{}, 0, err
	}
	if t.limiter != nil && !user.Seedbox && !t.limiter.allow(req.Passkey, t.clock.now()) {
		return User{}, 0, errRateLimited
	}
	torrentID, ok := t.access.Torrent(req.InfoHash)
	if !ok {
		return User{}, 0, errNotRegistered
	}
	return user, torrentID, req.validate()
}

// selfPeers fills self with the requester's entries, one per address it is
// stored under (see selfAddrs), classified for LAN-first ranking, and
// returns how many there are.
func (t *Tracker) selfPeers(req *AnnounceRequest, u User, now uint32, self *[2]Peer) int {
	n := 0
	for _, ap := range t.selfAddrs(req) {
		if !ap.IsValid() {
			continue
		}
		p := NewPeer(req.PeerID, ap, req.Left == 0, now)
		p.Class = t.lan.Classify(ap.Addr())
		if u.Seedbox {
			p.Class |= ClassSeedbox
		}
		self[n] = p
		n++
	}
	return n
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

// updateSwarm records the requester's entries, or removes them on
// event=stopped.
func (t *Tracker) updateSwarm(ctx context.Context, req *AnnounceRequest, self []Peer) error {
	for i := range self {
		if err := t.updatePeer(ctx, req, &self[i]); err != nil {
			return err
		}
	}
	return nil
}

func (t *Tracker) updatePeer(ctx context.Context, req *AnnounceRequest, p *Peer) error {
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

func (t *Tracker) fillResponse(ctx context.Context, u User, req *AnnounceRequest, self []Peer, resp *AnnounceResponse) error {
	r := t.lan.Requester(self)
	peers, err := t.store.AppendPeers(ctx, req.InfoHash, r, t.numWant(req), resp.Peers[:0])
	if err != nil {
		return fmt.Errorf("collect peers: %w", err)
	}
	resp.Peers = peers
	t.metrics.countReturned(&r, peers)
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
