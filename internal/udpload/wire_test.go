package udpload

import (
	"encoding/binary"
	"errors"
	"testing"
)

func announceReply(tx uint32, interval uint32, peers ...[]byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, actionAnnounce)
	b = binary.BigEndian.AppendUint32(b, tx)
	b = binary.BigEndian.AppendUint32(b, interval)
	b = binary.BigEndian.AppendUint32(b, 3) // leechers
	b = binary.BigEndian.AppendUint32(b, 4) // seeders
	for _, p := range peers {
		b = append(b, p...)
	}
	return b
}

func TestParseAnnounceReply(t *testing.T) {
	peer4 := []byte{127, 0, 0, 1, 0x1a, 0xe1}
	peer6 := append(make([]byte, 15), 1, 0x1a, 0xe1)
	errReply := append(binary.BigEndian.AppendUint64(nil, uint64(actionError)<<32|7), "unknown passkey"...)
	for _, tc := range []struct {
		name    string
		b       []byte
		v6      bool
		numWant int
		peers   int
		err     error
	}{
		{"two peers", announceReply(7, 1800, peer4, peer4), false, 50, 2, nil},
		{"no peers", announceReply(7, 1800), false, 50, 0, nil},
		{"v6 peer", announceReply(7, 1800, peer6), true, 50, 1, nil},
		{"any numwant", announceReply(7, 1800, peer4, peer4), false, -1, 2, nil},
		{"too many", announceReply(7, 1800, peer4, peer4), false, 1, 0, ErrTooManyPeers},
		{"partial peer", announceReply(7, 1800, peer4, peer4[:3]), false, 50, 0, ErrPeerListSize},
		{"v4 list read as v6", announceReply(7, 1800, peer4), true, 50, 0, ErrPeerListSize},
		{"zero port", announceReply(7, 1800, []byte{127, 0, 0, 1, 0, 0}), false, 50, 0, ErrBadPeer},
		{"zero address", announceReply(7, 1800, []byte{0, 0, 0, 0, 1, 1}), false, 50, 0, ErrBadPeer},
		{"zero interval", announceReply(7, 0), false, 50, 0, ErrBadInterval},
		{"short header", announceReply(7, 1800)[:12], false, 50, 0, ErrShortReply},
		{"tiny", []byte{0, 0, 0}, false, 50, 0, ErrShortReply},
		{"connect reply", binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, 7), 99), false, 50, 0, ErrWrongAction},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ParseAnnounceReply(tc.b, tc.v6, tc.numWant)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if err == nil && (r.Peers != tc.peers || r.TxID != 7 || r.Interval != 1800 || r.Leechers != 3 || r.Seeders != 4) {
				t.Errorf("reply %+v, want %d peers, tx 7, interval 1800, 3 leechers, 4 seeders", r, tc.peers)
			}
		})
	}
	r, err := ParseAnnounceReply(errReply, false, 50)
	var te *TrackerError
	if !errors.As(err, &te) || te.Message != "unknown passkey" || r.TxID != 7 {
		t.Errorf("error reply: %+v, %v", r, err)
	}
}

func TestRequestEncoding(t *testing.T) {
	c := appendConnect(nil, 9)
	if len(c) != 16 || binary.BigEndian.Uint64(c) != protocolID || binary.BigEndian.Uint32(c[12:]) != 9 {
		t.Errorf("connect %x", c)
	}
	a := Announce{Left: 5, Event: EventStarted, NumWant: 50, Port: 6881}
	a.InfoHash[0], a.PeerID[0] = 0xaa, 0xbb
	plain := appendAnnounce(nil, 0x1122, 3, &a, 1, nil)
	if len(plain) != announceLen || plain[16] != 0xaa || plain[36] != 0xbb ||
		binary.BigEndian.Uint16(plain[96:]) != 6881 || binary.BigEndian.Uint32(plain[80:]) != EventStarted {
		t.Errorf("announce %x", plain)
	}
	long := make([]byte, 300)
	for i := range long {
		long[i] = 'k'
	}
	withURL := appendAnnounce(nil, 0x1122, 3, &a, 1, long)
	opts := withURL[announceLen:]
	// Two URLData options (255 + 45 bytes), then EndOfOptions (BEP 41).
	if opts[0] != optURLData || opts[1] != 255 || opts[257] != optURLData || opts[258] != 45 ||
		len(opts) != 2+255+2+45+1 || opts[len(opts)-1] != optEndOfOptions {
		t.Errorf("BEP 41 options % x", opts[:4])
	}
}

func TestParseConnectReply(t *testing.T) {
	b := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, 5), 0xfeed)
	if tx, id, err := parseConnectReply(b); err != nil || tx != 5 || id != 0xfeed {
		t.Errorf("connect reply: %d %x %v", tx, id, err)
	}
	if _, _, err := parseConnectReply(b[:12]); !errors.Is(err, ErrShortReply) {
		t.Errorf("short connect reply: %v", err)
	}
}

// FuzzParseAnnounceReply: any datagram is either refused with an error or
// parsed into a reply consistent with its length, and never panics.
func FuzzParseAnnounceReply(f *testing.F) {
	f.Add(announceReply(1, 60, []byte{10, 0, 0, 1, 0, 80}), false, 50)
	f.Add(announceReply(1, 60, append(make([]byte, 15), 1, 0, 80)), true, 1)
	f.Add([]byte{0, 0, 0, 3, 0, 0, 0, 1, 'n', 'o'}, false, -1)
	f.Add([]byte{}, false, 0)
	f.Fuzz(func(t *testing.T, b []byte, v6 bool, numWant int) {
		r, err := ParseAnnounceReply(b, v6, numWant)
		if err != nil {
			return
		}
		size := 6
		if v6 {
			size = 18
		}
		if r.Peers*size+announceHdrLen != len(b) || (numWant >= 0 && r.Peers > numWant) || r.Interval == 0 {
			t.Fatalf("accepted %x as %+v", b, r)
		}
	})
}
