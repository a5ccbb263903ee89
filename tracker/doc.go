// Package tracker is Seedbed's private BitTorrent tracker: the announce and
// scrape logic, the in-memory peer store, passkeys and the infohash allow-list
// held in memory ([Access]), per-user traffic accounting, and the HTTP
// frontend.
//
// Protocols:
//   - BEP 3: the announce request (info_hash, peer_id, port, uploaded,
//     downloaded, left, event) and its bencoded reply, including the
//     non-compact peer list of dicts (compact=0).
//   - BEP 23: compact peer lists, the default: "peers" is a string of 6 bytes
//     per IPv4 peer.
//   - BEP 7: IPv6 peers, "peers6" is a string of 18 bytes per IPv6 peer.
//   - BEP 48: scrape, with any number of info_hash parameters and the reply's
//     "files" dict keyed by the raw 20-byte infohash.
//
// A request flows parse -> logic -> write reply, as in chihaya: a frontend
// parses the wire request into an [AnnounceRequest] or [ScrapeRequest],
// [Tracker.Announce] or [Tracker.Scrape] applies the protocol-independent
// logic (used by the HTTP frontend here and by a UDP frontend later), and the
// frontend writes the reply straight into a pooled buffer. Failures the client
// should see are a [ClientError]; only their text reaches "failure reason".
// Any other error is logged and answered with a generic reason.
//
// No announce touches a database: passkeys and the allow-list live in
// [Access], swarms live in a [PeerStore], and traffic deltas are aggregated in
// memory and handed to a [Sink] every few seconds by [Tracker.Serve].
package tracker
