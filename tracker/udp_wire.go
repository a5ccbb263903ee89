package tracker

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// The UDP tracker's wire format: BEP 15 requests, with BEP 41 options after
// an announce (and, as we extend it, after a scrape's info hashes). All
// integers are big-endian.
const (
	udpProtocolID uint64 = 0x41727101980 // the connection_id of a connect

	udpActionConnect  uint32 = 0
	udpActionAnnounce uint32 = 1
	udpActionScrape   uint32 = 2
	udpActionError    uint32 = 3

	udpHeaderLen   = 16 // connection_id, action, transaction_id
	udpAnnounceLen = 98 // the announce request before its BEP 41 options
	udpHashLen     = 20
	// udpMaxScrape is how many info hashes one scrape may ask for: BEP 15's
	// "about 74", so that the reply fits in one unfragmented packet.
	udpMaxScrape = 74
	// udpMaxURLData bounds the BEP 41 URL data taken from one request, and
	// udpMaxOptions the options around it, so that a request costs little
	// to parse.
	udpMaxURLData = 1024
	udpMaxOptions = 2048
)

// BEP 41 option types. Every other type carries a length byte and is skipped.
const (
	udpOptEndOfOptions = 0x0
	udpOptNOP          = 0x1
	udpOptURLData      = 0x2
)

// Failures of a UDP request the client is told about, besides those of
// Announce and Scrape.
const (
	errUDPConnectionID  ClientError = "unknown or expired connection id"
	errUDPShortRequest  ClientError = "malformed request: too short"
	errUDPBadOptions    ClientError = "malformed BEP 41 options"
	errUDPURLTooLong    ClientError = "BEP 41 URL data too long"
	errUDPUnknownAction ClientError = "unknown action"
	errUDPTooManyHashes ClientError = "too many info hashes (at most 74)"
	errUDPTooLarge      ClientError = "request too large"
)

// Packets dropped without a reply: they are not BEP 15 requests at all.
var (
	errUDPNoHeader = errors.New("udp packet shorter than a request header")
	errUDPNotBEP15 = errors.New("udp connect without the BEP 15 protocol id")
)

var (
	announcePathPrefix = []byte("/announce/")
	scrapePathPrefix   = []byte("/scrape/")
)

// udpRequest is one decoded BEP 15 request. It is reused from packet to
// packet; its slices keep their capacity, and options points into the packet.
type udpRequest struct {
	connID uint64
	action uint32
	txID   uint32

	// An announce (action 1).
	infoHash   [20]byte
	peerID     [20]byte
	downloaded int64
	left       int64
	uploaded   int64
	event      Event
	ip         uint32 // the IPv4 address a client may claim (0: none)
	key        uint32
	numWant    int32
	port       uint16

	// A scrape (action 2).
	infoHashes [][20]byte

	// options is the rest of the packet after the fixed part, as received:
	// BEP 41 options. urlData is the concatenated data of their URLData.
	options []byte
	urlData []byte
}

func (r *udpRequest) reset() {
	*r = udpRequest{infoHashes: r.infoHashes[:0], urlData: r.urlData[:0]}
}

// parseUDPRequest decodes a whole request: header, then body. A ClientError
// is for the client; errUDPNoHeader and errUDPNotBEP15 mean no reply.
func parseUDPRequest(b []byte, r *udpRequest) error {
	if err := r.parseHeader(b); err != nil {
		return err
	}
	if r.action == udpActionConnect && r.connID != udpProtocolID {
		return errUDPNotBEP15
	}
	return r.parseBody(b)
}

// parseHeader resets r and decodes the 16-byte request header of b.
func (r *udpRequest) parseHeader(b []byte) error {
	r.reset()
	if len(b) < udpHeaderLen {
		return errUDPNoHeader
	}
	r.connID = binary.BigEndian.Uint64(b)
	r.action = binary.BigEndian.Uint32(b[8:])
	r.txID = binary.BigEndian.Uint32(b[12:])
	return nil
}

// parseBody decodes what follows the header, by r.action. Bytes after a
// connect's header are kept in r.options and ignored.
func (r *udpRequest) parseBody(b []byte) error {
	switch r.action {
	case udpActionConnect:
		r.options = b[udpHeaderLen:]
		return nil
	case udpActionAnnounce:
		return r.parseAnnounce(b)
	case udpActionScrape:
		return r.parseScrape(b[udpHeaderLen:])
	}
	return errUDPUnknownAction
}

func (r *udpRequest) parseAnnounce(b []byte) error {
	switch {
	case len(b) < udpAnnounceLen:
		return errUDPShortRequest
	case len(b) > udpAnnounceLen+udpMaxOptions:
		return errUDPTooLarge
	}
	be := binary.BigEndian
	r.infoHash = [20]byte(b[16:36])
	r.peerID = [20]byte(b[36:56])
	r.downloaded = int64(be.Uint64(b[56:]))
	r.left = int64(be.Uint64(b[64:]))
	r.uploaded = int64(be.Uint64(b[72:]))
	event := be.Uint32(b[80:])
	if event > uint32(EventStopped) {
		return errInvalidEvent
	}
	r.event = Event(event) // BEP 15 numbering, as Event's
	r.ip = be.Uint32(b[84:])
	r.key = be.Uint32(b[88:])
	r.numWant = int32(be.Uint32(b[92:]))
	r.port = be.Uint16(b[96:])
	r.options = b[udpAnnounceLen:]
	var err error
	r.urlData, err = appendURLData(r.urlData, r.options)
	return err
}

func (r *udpRequest) parseScrape(body []byte) error {
	if len(body) > udpMaxScrape*udpHashLen+udpMaxOptions {
		return errUDPTooLarge
	}
	n, withOptions := scrapeHashCount(body)
	switch {
	case n == 0:
		return errMissingInfoHash
	case n > udpMaxScrape:
		return errUDPTooManyHashes
	}
	for i := range n {
		r.infoHashes = append(r.infoHashes, [20]byte(body[i*udpHashLen:]))
	}
	r.options = body[n*udpHashLen:]
	if !withOptions {
		return nil
	}
	var err error
	r.urlData, err = appendURLData(r.urlData, r.options)
	return err
}

// scrapeHashCount is how many info hashes begin a scrape's body, and
// whether BEP 41 options follow them. BEP 15 gives a scrape no length
// field, so options are recognised: they start at the first 20-byte boundary
// after at least one info hash from which the rest parses as options
// carrying URL data. Without one, the body is info hashes only and a
// trailing partial hash is ignored. (A scrape without URL data carries no
// passkey and is refused anyway.)
func scrapeHashCount(body []byte) (n int, withOptions bool) {
	whole := len(body) / udpHashLen
	for k := 1; k <= min(whole, udpMaxScrape+1); k++ {
		if carriesURLData(body[k*udpHashLen:]) {
			return k, true
		}
	}
	return whole, false
}

// nextOption splits the first BEP 41 option off a non-empty opts.
// EndOfOptions and NOP are one byte; every other type has a length byte.
func nextOption(opts []byte) (typ byte, data, rest []byte, err error) {
	typ = opts[0]
	if typ == udpOptEndOfOptions || typ == udpOptNOP {
		return typ, nil, opts[1:], nil
	}
	if len(opts) < 2 || len(opts)-2 < int(opts[1]) {
		return typ, nil, nil, errUDPBadOptions
	}
	end := 2 + int(opts[1])
	return typ, opts[2:end], opts[end:], nil
}

// appendURLData appends the data of every URLData option in opts to dst
// (BEP 41: several parts concatenate). Parsing ends at EndOfOptions or at
// the end of opts; what follows EndOfOptions is ignored.
func appendURLData(dst, opts []byte) ([]byte, error) {
	start := len(dst)
	for len(opts) > 0 {
		typ, data, rest, err := nextOption(opts)
		switch {
		case err != nil:
			return dst, err
		case typ == udpOptEndOfOptions:
			return dst, nil
		case typ == udpOptURLData && len(dst)-start+len(data) > udpMaxURLData:
			return dst, errUDPURLTooLong
		case typ == udpOptURLData:
			dst = append(dst, data...)
		}
		opts = rest
	}
	return dst, nil
}

// carriesURLData reports whether opts parse as BEP 41 options with some
// URL data in them.
func carriesURLData(opts []byte) bool {
	n := 0
	for len(opts) > 0 {
		typ, data, rest, err := nextOption(opts)
		if err != nil {
			return false
		}
		if typ == udpOptEndOfOptions {
			break
		}
		if typ == udpOptURLData {
			n += len(data)
		}
		opts = rest
	}
	return n > 0
}

// udpPasskey returns the passkey in BEP 41 URL data "/announce/<passkey>",
// or for a scrape also "/scrape/<passkey>"; a query string is ignored. It
// returns nil for any other shape, which the tracker answers with "missing
// passkey".
func udpPasskey(url []byte, scrape bool) []byte {
	if i := bytes.IndexByte(url, '?'); i >= 0 {
		url = url[:i]
	}
	rest, ok := bytes.CutPrefix(url, announcePathPrefix)
	if !ok && scrape {
		rest, ok = bytes.CutPrefix(url, scrapePathPrefix)
	}
	if !ok || bytes.IndexByte(rest, '/') >= 0 {
		return nil
	}
	return rest
}
