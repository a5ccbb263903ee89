package tracker

import (
	"encoding/binary"
	"math"
)

// udpMaxReply bounds an announce reply so that it fits in one unfragmented
// packet on a 1500-byte link, IPv6 headers included: at most 79 IPv6 peers
// (18 bytes each, BEP 15's IPv6 format) or 238 IPv4 peers (6 bytes each).
const udpMaxReply = 1500 - 40 - 8

// The reply writers append straight to a reused buffer.

func appendUDPHeader(b []byte, action, txID uint32) []byte {
	b = binary.BigEndian.AppendUint32(b, action)
	return binary.BigEndian.AppendUint32(b, txID)
}

// appendUDPConnect writes a connect reply: the connection ID to use.
func appendUDPConnect(b []byte, txID uint32, connID uint64) []byte {
	b = appendUDPHeader(b, udpActionConnect, txID)
	return binary.BigEndian.AppendUint64(b, connID)
}

// appendUDPError writes an error reply (action 3) with a readable message.
func appendUDPError(b []byte, txID uint32, msg string) []byte {
	b = appendUDPHeader(b, udpActionError, txID)
	return append(b, msg...)
}

// appendUDPAnnounce writes an announce reply: interval, leechers, seeders,
// then the peers of the requester's family only, 6 bytes per IPv4 peer or
// 18 bytes per IPv6 peer, as many as fit in udpMaxReply.
func appendUDPAnnounce(b []byte, txID uint32, resp *AnnounceResponse, v6 bool) []byte {
	start := len(b)
	b = appendUDPHeader(b, udpActionAnnounce, txID)
	b = appendInt32(b, int(seconds(resp.Interval)))
	b = appendInt32(b, resp.Leechers)
	b = appendInt32(b, resp.Seeders)
	size := 6
	if v6 {
		size = 18
	}
	for i := range resp.Peers {
		p := &resp.Peers[i]
		if p.Is6() != v6 {
			continue
		}
		if len(b)-start+size > udpMaxReply {
			break
		}
		b = append(b, p.Addr[16-size+2:]...)
		b = binary.BigEndian.AppendUint16(b, p.Port)
	}
	return b
}

// appendUDPScrape writes a scrape reply: seeders, completed and leechers of
// every requested infohash, in request order; zeros for an unregistered one.
func appendUDPScrape(b []byte, txID uint32, files []ScrapeFile) []byte {
	b = appendUDPHeader(b, udpActionScrape, txID)
	for i := range files {
		f := &files[i]
		b = appendInt32(b, f.Seeders)
		b = appendInt32(b, f.Completed)
		b = appendInt32(b, f.Leechers)
	}
	return b
}

// appendInt32 writes v as a BEP 15 int32, clamped to its range.
func appendInt32(b []byte, v int) []byte {
	v = min(max(v, 0), math.MaxInt32)
	return binary.BigEndian.AppendUint32(b, uint32(v))
}
