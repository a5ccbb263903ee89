package seedbox

import (
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"golang.org/x/time/rate"
)

// UploadLimit is the cap on what the client uploads, in bytes per second
// over all peers; rate.Inf when unlimited.
func (s *Seeder) UploadLimit() rate.Limit {
	if s.upload == nil {
		return rate.Inf
	}
	return s.upload.Limit()
}

// AddPeer hands the client a peer of a torrent it seeds, typically a leecher
// that just announced to our tracker, so the seedbox connects to it at once
// instead of waiting for its next announce. Unknown torrents are ignored.
func (s *Seeder) AddPeer(ih [20]byte, addr netip.AddrPort) {
	s.mu.Lock()
	sd, ok := s.torrents[metainfo.Hash(ih)]
	s.mu.Unlock()
	if !ok || !addr.IsValid() {
		return
	}
	sd.t.AddPeers([]torrent.PeerInfo{{Addr: net.TCPAddrFromAddrPort(addr), Source: torrent.PeerSourceTracker}})
}

// carryPeers keeps the addresses of t's connected peers for the next Seed
// of the torrent. A torrent moved to another replica is dropped and added
// again; its peers would otherwise wait for their next announce to find the
// seedbox, and clients that never dial out (Transmission on loopback) or
// whose tracker state anacrolix keeps from the dropped torrent might not
// find it at all. An incoming peer is dialled on the listen port it sent in
// its extended handshake (BEP 10 "p").
func (s *Seeder) carryPeers(ih metainfo.Hash, t *torrent.Torrent) {
	var peers []torrent.PeerInfo
	for _, pc := range t.PeerConns() {
		ap, err := netip.ParseAddrPort(pc.RemoteAddr.String())
		if err != nil {
			continue
		}
		if pc.PeerListenPort > 0 && pc.PeerListenPort < 1<<16 {
			ap = netip.AddrPortFrom(ap.Addr(), uint16(pc.PeerListenPort))
		}
		peers = append(peers, torrent.PeerInfo{Addr: net.TCPAddrFromAddrPort(ap), Source: torrent.PeerSourceTracker})
	}
	if len(peers) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.carried == nil {
		s.carried = map[metainfo.Hash][]torrent.PeerInfo{}
	}
	s.carried[ih] = peers
}

// announceURL is the tracker URL for a torrent being added to the client.
// anacrolix keeps its announce state per (tracker URL, infohash) in the
// client, beyond the life of a torrent: a torrent dropped and added again
// (moved to another replica, or seeded after it was fetched) would inherit
// the dropped one's state, send no "started" and, once the dropped one's
// "stopped" was sent, stay out of the tracker's swarm. Each later add
// therefore announces on a URL of its own (an extra query parameter the
// tracker ignores), which starts a fresh announce state.
func (s *Seeder) announceURL(ih metainfo.Hash) string {
	if s.opts.AnnounceURL == "" {
		return ""
	}
	s.mu.Lock()
	if s.adds == nil {
		s.adds = map[metainfo.Hash]int{}
	}
	n := s.adds[ih]
	s.adds[ih]++
	s.mu.Unlock()
	if n == 0 {
		return s.opts.AnnounceURL
	}
	sep := "?"
	if strings.Contains(s.opts.AnnounceURL, "?") {
		sep = "&"
	}
	return s.opts.AnnounceURL + sep + "seedbox_session=" + strconv.Itoa(n)
}
