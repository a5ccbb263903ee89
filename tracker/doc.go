// Package tracker is Seedbed's private BitTorrent tracker: the announce and
// scrape logic, the in-memory peer store, passkeys and the infohash allow-list
// held in memory ([Access]), per-user traffic accounting, and the HTTP and
// UDP frontends.
//
// Protocols:
//   - BEP 3: the announce request (info_hash, peer_id, port, uploaded,
//     downloaded, left, event) and its bencoded reply, including the
//     non-compact peer list of dicts (compact=0).
//   - BEP 23: compact peer lists, the default: "peers" is a string of 6 bytes
//     per IPv4 peer.
//   - BEP 7: IPv6 peers, "peers6" is a string of 18 bytes per IPv6 peer;
//     ipv4= and ipv6= announce an address of each family at once.
//   - BEP 48: scrape, with any number of info_hash parameters and the reply's
//     "files" dict keyed by the raw 20-byte infohash.
//   - BEP 15: the UDP tracker protocol, served by [Tracker.ServeUDP]:
//     connect, announce, scrape (at most 74 info hashes) and error packets.
//     Connection IDs are a keyed hash (HMAC-SHA256, random key per
//     ServeUDP) of a one-minute window and the client's IP; the current and
//     the previous window are accepted. An announce reply carries the peers
//     of the request's address family: 6 bytes per IPv4 peer, 18 per IPv6
//     peer, as many as fit in one unfragmented packet.
//   - BEP 41: UDP options after the announce (EndOfOptions, NOP, URLData;
//     other types are skipped by their length byte). The URLData parts,
//     concatenated, are the announce URL's path and query, and the passkey
//     comes from the path /announce/<passkey>. BEP 41 defines options for
//     announces; we accept them after a scrape's info hashes too, found at the
//     first 20-byte boundary from which the rest parses as options with URL
//     data. Without a valid passkey a UDP announce or scrape gets an error
//     packet, as over HTTP.
//
// A request flows parse -> logic -> write reply, as in chihaya: a frontend
// parses the wire request into an [AnnounceRequest] or [ScrapeRequest],
// [Tracker.Announce] or [Tracker.Scrape] applies the protocol-independent
// logic shared by the HTTP and UDP frontends, and the frontend writes the
// reply straight into a reused buffer. Failures the client should see are a
// [ClientError]; only their text reaches "failure reason" (HTTP) or the error
// packet (UDP). Any other error is logged and answered with a generic reason.
//
// Peers are handed out LAN first ([Requester.Tier]): the requester's own
// subnet (/24, /64), then its named network (a dorm, the library), then the
// rest of campus, then everything else; within a tier seeders first for a
// leecher (a seeder gets only leechers), starting at a random place so that
// every peer gets its turn, never the requester itself. A leecher always
// gets a seedbox when one seeds the torrent: the source of last resort takes
// the last slot when the LAN filled the others. Each peer's named network,
// campus bit and seedbox bit are computed once when it announces and stored
// in its [PeerClass], so ranking is a few comparisons per peer. A client's
// ip=, ipv4= or ipv6= (BEP 3, BEP 7) is believed only from a campus address
// and into a campus range ([LANConfig]); a client reporting one address of
// each family is stored under both and gets both "peers" and "peers6".
//
// Access: an unknown or revoked passkey, a disabled user, an unregistered
// infohash, a client not on the allow-list (by peer_id prefix) and a
// passkey over its announce rate (a token bucket) each get their own
// failure reason. With [Options.EnforceMinInterval], an announce sooner than
// "min interval" is answered as usual but credits nothing until the next one
// on time. [Tracker.WriteMetrics] and [Tracker.MetricsHandler] expose
// Prometheus metrics; the frontends count their requests with
// [Tracker.CountAnnounce] and [Tracker.CountScrape].
//
// No announce touches a database: passkeys and the allow-list live in
// [Access], swarms live in a [PeerStore] with each peer's accounting
// [Baseline], an announce is one store call ([PeerStore.Announce]), and
// traffic deltas are aggregated in memory and handed to a [Sink] every few
// seconds by [Tracker.Serve].
//
// The memory store keeps its swarm lists outside the Go heap (see slab.go),
// so the garbage collector's headroom does not double their cost.
package tracker
