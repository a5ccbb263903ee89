package tracker

import (
	"bytes"
	"slices"
	"strconv"
	"time"
)

// The reply writers append bencode (BEP 3) straight to a reused buffer: no
// maps, no reflection. Dict keys are written in sorted order, as bencode
// requires.

func appendString(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	return append(b, s...)
}

func appendInt(b []byte, v int64) []byte {
	b = append(b, 'i')
	b = strconv.AppendInt(b, v, 10)
	return append(b, 'e')
}

func appendIntKey(b []byte, key string, v int64) []byte {
	return appendInt(appendString(b, key), v)
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

// appendFailure writes a failure reply: a dict with only "failure reason".
func appendFailure(b []byte, reason string) []byte {
	b = append(b, 'd')
	b = appendString(b, "failure reason")
	b = appendString(b, reason)
	return append(b, 'e')
}

// appendAnnounce writes a successful announce reply. "peers" is always
// present; "failure reason" never is (libtorrent treats even an empty one as
// a failure).
func appendAnnounce(b []byte, req *AnnounceRequest, resp *AnnounceResponse) []byte {
	b = append(b, 'd')
	b = appendIntKey(b, "complete", int64(resp.Seeders))
	b = appendIntKey(b, "downloaded", int64(resp.Completed))
	b = appendIntKey(b, "incomplete", int64(resp.Leechers))
	b = appendIntKey(b, "interval", seconds(resp.Interval))
	b = appendIntKey(b, "min interval", seconds(resp.MinInterval))
	if req.Compact {
		b = appendCompactPeers(b, resp.Peers)
	} else {
		b = appendDictPeers(b, resp.Peers, !req.NoPeerID)
	}
	return append(b, 'e')
}

// appendCompactPeers writes "peers", 6 bytes per IPv4 peer (BEP 23), and,
// when there are IPv6 peers, "peers6", 18 bytes per peer (BEP 7).
func appendCompactPeers(b []byte, peers []Peer) []byte {
	n6 := 0
	for i := range peers {
		if peers[i].Is6() {
			n6++
		}
	}
	b = appendString(b, "peers")
	b = appendCompactFamily(b, peers, len(peers)-n6, false)
	if n6 > 0 {
		b = appendString(b, "peers6")
		b = appendCompactFamily(b, peers, n6, true)
	}
	return b
}

func appendCompactFamily(b []byte, peers []Peer, n int, v6 bool) []byte {
	size := 6
	if v6 {
		size = 18
	}
	b = strconv.AppendInt(b, int64(n*size), 10)
	b = append(b, ':')
	for i := range peers {
		p := &peers[i]
		if p.Is6() != v6 {
			continue
		}
		b = append(b, p.Addr[16-size+2:]...)
		b = append(b, byte(p.Port>>8), byte(p.Port))
	}
	return b
}

// appendDictPeers writes "peers" as the BEP 3 list of dicts with "ip",
// "peer id" (unless withID is false) and "port", IPv4 and IPv6 alike.
func appendDictPeers(b []byte, peers []Peer, withID bool) []byte {
	b = appendString(b, "peers")
	b = append(b, 'l')
	for i := range peers {
		b = appendDictPeer(b, &peers[i], withID)
	}
	return append(b, 'e')
}

func appendDictPeer(b []byte, p *Peer, withID bool) []byte {
	var ip [64]byte // an IPv6 address with a zone fits
	b = append(b, 'd')
	b = appendString(b, "ip")
	text := p.AddrPort().Addr().AppendTo(ip[:0])
	b = strconv.AppendInt(b, int64(len(text)), 10)
	b = append(b, ':')
	b = append(b, text...)
	if withID {
		b = appendString(b, "peer id")
		b = append(b, "20:"...)
		b = append(b, p.ID[:]...)
	}
	b = appendIntKey(b, "port", int64(p.Port))
	return append(b, 'e')
}

// appendScrape writes a scrape reply (BEP 48): "files" keyed by the raw
// infohash, sorted, each once; unregistered infohashes are left out. It
// sorts files in place.
func appendScrape(b []byte, files []ScrapeFile) []byte {
	slices.SortFunc(files, func(x, y ScrapeFile) int {
		return bytes.Compare(x.InfoHash[:], y.InfoHash[:])
	})
	b = append(b, 'd')
	b = appendString(b, "files")
	b = append(b, 'd')
	for i := range files {
		f := &files[i]
		if !f.Registered || (i > 0 && files[i-1].InfoHash == f.InfoHash) {
			continue
		}
		b = append(b, "20:"...)
		b = append(b, f.InfoHash[:]...)
		b = append(b, 'd')
		b = appendIntKey(b, "complete", int64(f.Seeders))
		b = appendIntKey(b, "downloaded", int64(f.Completed))
		b = appendIntKey(b, "incomplete", int64(f.Leechers))
		b = append(b, 'e')
	}
	return append(b, "ee"...)
}
