package tracker

import (
	"bytes"
	"errors"
)

// The fast HTTP frontend's request parser: a strict subset of HTTP/1.1
// (RFC 9112) that covers what BitTorrent clients send to /announce and
// /scrape (BEP 3, BEP 48). Anything outside the subset is not an error to
// the client: the connection goes to net/http with the bytes read so far,
// and net/http answers it as it always did (a redirect, a 400, a 431, ...).

// fastHeadMax bounds a request head (request line and headers) the fast
// path reads; a longer one goes to net/http, which allows up to 1 MiB.
const fastHeadMax = 8 << 10

// errHandoff means the request is not in the fast path's subset.
var errHandoff = errors.New("tracker: request for net/http")

// fastHead is one parsed request head. Its slices point into the buffer
// parseHead was given and are valid until that buffer is reused.
type fastHead struct {
	scrape  bool
	passkey []byte
	query   []byte
	close   bool // Connection: close
	// xff and xri are the X-Forwarded-For and X-Real-IP values, in order,
	// collected only when the caller asks (the peer is a trusted proxy).
	xff, xri [][]byte
}

var (
	prefixAnnounce = []byte("GET /announce/")
	prefixScrape   = []byte("GET /scrape/")
	protoHTTP11    = []byte(" HTTP/1.1\r\n")
)

// parseHead parses the request head at the start of b. It returns the
// head's length when b starts with a complete request the fast path
// serves; 0 and a nil error when b is a prefix of one and more bytes are
// needed; errHandoff when the request is for net/http. collect asks for the
// proxy headers (fastHead.xff, xri).
func parseHead(b []byte, h *fastHead, collect bool) (int, error) {
	*h = fastHead{xff: h.xff[:0], xri: h.xri[:0]}
	prefix := prefixAnnounce
	if len(b) > 5 && b[5] == 's' {
		prefix, h.scrape = prefixScrape, true
	}
	if n := min(len(b), len(prefix)); !bytes.Equal(b[:n], prefix[:n]) {
		return 0, errHandoff
	}
	end := bytes.IndexByte(b, '\n')
	if end < 0 {
		return needMore(b)
	}
	line := b[:end+1]
	sp := bytes.IndexByte(line[len(prefix)-1:], ' ') + len(prefix) - 1
	if sp < len(prefix)-1 || !bytes.Equal(line[sp:], protoHTTP11) {
		return 0, errHandoff
	}
	if err := h.target(line[len(prefix):sp]); err != nil {
		return 0, err
	}
	n, err := h.headers(b[end+1:], collect)
	if n == 0 || err != nil {
		if err == nil {
			return needMore(b)
		}
		return 0, err
	}
	return end + 1 + n, nil
}

// needMore is parseHead's answer for an incomplete head: wait for more
// bytes unless the head is already too long for the fast path.
func needMore(b []byte) (int, error) {
	if len(b) >= fastHeadMax {
		return 0, errHandoff
	}
	return 0, nil
}

// target parses what follows "/announce/" or "/scrape/": a passkey of
// unreserved characters (RFC 3986) and an optional raw query. Paths net/http
// would clean, redirect or unescape ("." and "..", "%", a further "/") go
// to net/http, so that both frontends see the same passkey.
func (h *fastHead) target(t []byte) error {
	i := 0
	for i < len(t) && unreservedByte(t[i]) {
		i++
	}
	h.passkey = t[:i]
	if string(h.passkey) == "." || string(h.passkey) == ".." {
		return errHandoff
	}
	if i == len(t) {
		return nil
	}
	if t[i] != '?' {
		return errHandoff
	}
	h.query = t[i+1:]
	for _, c := range h.query {
		if c <= ' ' || c >= 0x7f || c == '#' {
			return errHandoff
		}
	}
	return nil
}

// headers parses header lines up to the empty line ending the head and
// returns their length with it; 0 when b holds no complete head yet. A
// header net/http would refuse or treat specially (a body, Expect, Upgrade,
// an odd Host, obsolete line folding, bare LF) hands the request off.
func (h *fastHead) headers(b []byte, collect bool) (int, error) {
	hosts, off := 0, 0
	for {
		end := bytes.IndexByte(b[off:], '\n')
		if end < 0 {
			return 0, nil
		}
		line := b[off : off+end+1]
		off += end + 1
		if len(line) < 2 || line[len(line)-2] != '\r' {
			return 0, errHandoff
		}
		line = line[:len(line)-2]
		if len(line) == 0 {
			break
		}
		name, value, err := splitHeader(line)
		if err != nil {
			return 0, err
		}
		switch {
		case asciiEqualFold(name, "host"):
			if hosts++; hosts > 1 || !validHost(value) {
				return 0, errHandoff
			}
		case asciiEqualFold(name, "connection"):
			h.close = h.close || hasToken(value, "close")
		case asciiEqualFold(name, "content-length"), asciiEqualFold(name, "transfer-encoding"),
			asciiEqualFold(name, "expect"), asciiEqualFold(name, "upgrade"):
			return 0, errHandoff
		case collect && asciiEqualFold(name, "x-forwarded-for"):
			h.xff = append(h.xff, value)
		case collect && asciiEqualFold(name, "x-real-ip"):
			h.xri = append(h.xri, value)
		}
	}
	if hosts == 0 { // HTTP/1.1 requires Host; net/http answers 400
		return 0, errHandoff
	}
	return off, nil
}

// splitHeader splits "Name: value" into a token name and a value trimmed
// of spaces and tabs, as net/textproto does.
func splitHeader(line []byte) (name, value []byte, err error) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return nil, nil, errHandoff
	}
	name = line[:colon]
	for _, c := range name {
		if !tokenByte(c) {
			return nil, nil, errHandoff
		}
	}
	value = bytes.Trim(line[colon+1:], " \t")
	for _, c := range value {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return nil, nil, errHandoff
		}
	}
	return name, value, nil
}

// hasToken reports whether the comma-separated list v holds token,
// case-insensitively (RFC 9110 section 7.6.1; httpguts.HeaderValuesContainsToken).
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		var item []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			item, v = v, nil
		}
		if asciiEqualFold(bytes.Trim(item, " \t"), token) {
			return true
		}
	}
	return false
}

// asciiEqualFold compares b with the lower-case ASCII word s, ignoring case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// validHost accepts the host names and addresses clients send; anything
// else (empty included) goes to net/http, which has the full rules.
func validHost(v []byte) bool {
	if len(v) == 0 {
		return false
	}
	for _, c := range v {
		if !unreservedByte(c) && c != ':' && c != '[' && c != ']' {
			return false
		}
	}
	return true
}

// unreservedByte: ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986).
func unreservedByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// tokenByte: tchar (RFC 9110 section 5.6.2).
func tokenByte(c byte) bool {
	return unreservedByte(c) || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' ||
		c == '\'' || c == '*' || c == '+' || c == '^' || c == '`' || c == '|'
}
