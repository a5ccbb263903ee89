package tracker

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"
)

// Announce is the protocol-independent announce logic (BEP 3), shared by the
// HTTP and UDP frontends: it checks the passkey, the client, the rate limit
// and the allow-list, then hands the store the whole announce in one call
// (PeerStore.Announce): the peer stored under each address it announced
// (BEP 7) or removed, a snatch counted, the accounting baseline moved, the
// peers ranked LAN first and the swarm's counts. It credits the traffic
// since the baseline the store returned and fills resp with the peers, the
// counts and the interval. resp.Peers is reused. A failure the client
// should see is a ClientError.
func (t *Tracker) Announce(ctx context.Context, req *AnnounceRequest, resp *AnnounceResponse) error {
	user, torrentID, err := t.admit(req)
	if err != nil {
		return err
	}
	now := t.clock.now()
	self := &resp.self
	n := t.selfPeers(req, user, now, self)
	a := &resp.store
	*a = StoreAnnounce{
		Self:    self[:n],
		Stopped: req.Event == EventStopped,
		// The seedbox's own downloads (replication) are not snatches.
		Snatch:      req.Event == EventCompleted && !user.Seedbox,
		Base:        announceBaseline(req, now),
		MinInterval: t.minInterval,
		Regular:     req.Event == EventNone,
		Requester:   t.lan.Requester(self[:n]),
		NumWant:     t.numWant(req),
	}
	if t.ledger != nil && !user.Seedbox {
		a.Owner = user.ID
	}
	peers, res, err := t.store.Announce(ctx, req.InfoHash, a, resp.Peers[:0])
	if err != nil {
		return fmt.Errorf("announce to the peer store: %w", err)
	}
	t.notifyLeecher(req, self[:n])
	if t.ledger != nil {
		t.ledger.record(user, torrentID, req, &res, now)
	}
	if res.Early {
		t.metrics.early.add(0, 1)
	}
	resp.Peers, resp.SwarmCounts = peers, res.Counts
	t.metrics.countReturned(&a.Requester, peers)
	resp.Interval, resp.MinInterval = t.intervals(user, req, resp.SwarmCounts)
	return nil
}

// notifyLeecher tells Options.OnLeecher of a leecher that started.
func (t *Tracker) notifyLeecher(req *AnnounceRequest, self []Peer) {
	if req.Event != EventStarted || req.Left <= 0 || t.opts.OnLeecher == nil {
		return
	}
	for i := range self {
		t.opts.OnLeecher(req.InfoHash, self[i].AddrPort())
	}
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
