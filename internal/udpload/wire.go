// Package udpload is a load generator for UDP BitTorrent trackers (BEP 15):
// it connects, then keeps many announces in flight on several sockets, and
// parses and checks every reply as a real peer list. A passkey travels as
// BEP 41 URL data (/announce/<passkey>), as Seedbed's UDP tracker expects;
// without one the requests are plain BEP 15, as any UDP tracker takes them.
package udpload

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// BEP 15 constants.
const (
	protocolID      uint64 = 0x41727101980
	actionConnect   uint32 = 0
	actionAnnounce  uint32 = 1
	actionError     uint32 = 3
	announceLen            = 98
	announceHdrLen         = 20 // action, transaction_id, interval, leechers, seeders
	optEndOfOptions        = 0
	optURLData             = 2
)

// Events of an announce (BEP 15 numbering).
const (
	EventNone      uint32 = 0
	EventCompleted uint32 = 1
	EventStarted   uint32 = 2
	EventStopped   uint32 = 3
)

// Announce is one announce request's variable part.
type Announce struct {
	InfoHash   [20]byte
	PeerID     [20]byte
	Downloaded int64
	Left       int64
	Uploaded   int64
	Event      uint32
	NumWant    int32
	Port       uint16
}

// appendConnect appends a connect request (BEP 15).
func appendConnect(b []byte, tx uint32) []byte {
	b = binary.BigEndian.AppendUint64(b, protocolID)
	b = binary.BigEndian.AppendUint32(b, actionConnect)
	return binary.BigEndian.AppendUint32(b, tx)
}

// appendAnnounce appends an announce request (BEP 15) and, when urlData is
// not empty, its BEP 41 URL data options (at most 255 bytes each).
func appendAnnounce(b []byte, connID uint64, tx uint32, a *Announce, key uint32, urlData []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, connID)
	b = binary.BigEndian.AppendUint32(b, actionAnnounce)
	b = binary.BigEndian.AppendUint32(b, tx)
	b = append(b, a.InfoHash[:]...)
	b = append(b, a.PeerID[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(a.Downloaded))
	b = binary.BigEndian.AppendUint64(b, uint64(a.Left))
	b = binary.BigEndian.AppendUint64(b, uint64(a.Uploaded))
	b = binary.BigEndian.AppendUint32(b, a.Event)
	b = binary.BigEndian.AppendUint32(b, 0) // ip: the packet's source
	b = binary.BigEndian.AppendUint32(b, key)
	b = binary.BigEndian.AppendUint32(b, uint32(a.NumWant))
	b = binary.BigEndian.AppendUint16(b, a.Port)
	if len(urlData) == 0 {
		return b
	}
	for len(urlData) > 0 {
		n := min(len(urlData), 255)
		b = append(b, optURLData, byte(n))
		b = append(b, urlData[:n]...)
		urlData = urlData[n:]
	}
	return append(b, optEndOfOptions)
}

// Reply parsing errors. A tracker's error reply is a *TrackerError.
var (
	ErrShortReply   = errors.New("reply too short")
	ErrWrongAction  = errors.New("reply has an unexpected action")
	ErrPeerListSize = errors.New("peer list is not a whole number of peers")
	ErrTooManyPeers = errors.New("more peers than numwant")
	ErrBadPeer      = errors.New("peer with a zero address or port")
	ErrBadInterval  = errors.New("interval is zero")
)

// TrackerError is an error reply (action 3) and its message.
type TrackerError struct{ Message string }

func (e *TrackerError) Error() string { return "tracker error: " + e.Message }

// header returns the action and transaction id of a reply.
func header(b []byte) (action, tx uint32, err error) {
	if len(b) < 8 {
		return 0, 0, ErrShortReply
	}
	return binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:]), nil
}

// parseConnectReply returns the connection id of a connect reply.
func parseConnectReply(b []byte) (tx uint32, connID uint64, err error) {
	action, tx, err := header(b)
	switch {
	case err != nil:
		return 0, 0, err
	case action == actionError:
		return tx, 0, &TrackerError{string(b[8:])}
	case action != actionConnect:
		return tx, 0, fmt.Errorf("%w: %d, want connect", ErrWrongAction, action)
	case len(b) < 16:
		return tx, 0, ErrShortReply
	}
	return tx, binary.BigEndian.Uint64(b[8:]), nil
}

// AnnounceReply is a parsed announce reply.
type AnnounceReply struct {
	TxID     uint32
	Interval uint32
	Leechers uint32
	Seeders  uint32
	Peers    int // how many peers it lists
}

// ParseAnnounceReply parses an announce reply (BEP 15) whose peers are IPv4
// (6 bytes each) or, with v6, IPv6 (18 bytes each), and checks that it is a
// real peer list: a positive interval, at most numWant peers (when numWant
// is not negative), none with a zero address or port. An error reply gives a
// *TrackerError. It never keeps b.
func ParseAnnounceReply(b []byte, v6 bool, numWant int) (AnnounceReply, error) {
	action, tx, err := header(b)
	r := AnnounceReply{TxID: tx}
	switch {
	case err != nil:
		return r, err
	case action == actionError:
		return r, &TrackerError{string(b[8:])}
	case action != actionAnnounce:
		return r, fmt.Errorf("%w: %d, want announce", ErrWrongAction, action)
	case len(b) < announceHdrLen:
		return r, ErrShortReply
	}
	r.Interval = binary.BigEndian.Uint32(b[8:])
	r.Leechers = binary.BigEndian.Uint32(b[12:])
	r.Seeders = binary.BigEndian.Uint32(b[16:])
	size := 6
	if v6 {
		size = 18
	}
	peers := b[announceHdrLen:]
	switch {
	case r.Interval == 0:
		return r, ErrBadInterval
	case len(peers)%size != 0:
		return r, ErrPeerListSize
	}
	r.Peers = len(peers) / size
	if numWant >= 0 && r.Peers > numWant {
		return r, ErrTooManyPeers
	}
	for p := peers; len(p) > 0; p = p[size:] {
		if allZero(p[:size-2]) || binary.BigEndian.Uint16(p[size-2:]) == 0 {
			return r, ErrBadPeer
		}
	}
	return r, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
