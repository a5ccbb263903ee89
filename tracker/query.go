package tracker

import (
	"math"
	"strings"
)

// maxScrapeHashes bounds the info_hash parameters of one scrape.
const maxScrapeHashes = 128

// queryIter walks the key=value pairs of a raw query string ("&"-separated)
// without allocating.
type queryIter struct{ rest string }

func (q *queryIter) next() (key, value string, ok bool) {
	for q.rest != "" {
		var pair string
		pair, q.rest, _ = strings.Cut(q.rest, "&")
		if pair == "" {
			continue
		}
		key, value, _ = strings.Cut(pair, "=")
		return key, value, true
	}
	return "", "", false
}

// decodeKey percent-decodes a query key into buf when it needs it. Keys are
// short ASCII words; one that does not fit buf is returned undecoded and so
// matches no known key.
func decodeKey(key string, buf *[16]byte) string {
	if !escaped(key) {
		return key
	}
	n, ok := unescape(buf[:], key)
	if !ok {
		return key
	}
	return string(buf[:n]) // allocates, but clients do not encode keys
}

// escaped reports whether s needs unescape: it holds a '%' or a '+'.
func escaped(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' || s[i] == '+' {
			return true
		}
	}
	return false
}

// unescape percent-decodes a query component s into dst ('+' is a space, as
// in url.QueryUnescape). It reports false on a malformed escape or when the
// result does not fit dst.
func unescape(dst []byte, s string) (n int, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '+':
			c = ' '
		case '%':
			if i+2 >= len(s) {
				return 0, false
			}
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return 0, false
			}
			c = hi<<4 | lo
			i += 2
		}
		if n == len(dst) {
			return 0, false
		}
		dst[n] = c
		n++
	}
	return n, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// decodeHash decodes a 20-byte binary value (info_hash, peer_id).
func decodeHash(dst *[20]byte, s string) bool {
	var buf [20]byte
	n, ok := unescape(buf[:], s)
	if !ok || n != len(buf) {
		return false
	}
	*dst = buf
	return true
}

// decodeInt parses a decimal integer with an optional minus sign, possibly
// percent-encoded, that fits an int64.
func decodeInt(s string) (int64, bool) {
	var buf [24]byte
	if escaped(s) {
		n, ok := unescape(buf[:], s)
		if !ok {
			return 0, false
		}
		s = string(buf[:n]) // does not escape
	}
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	if v > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(v), true
	}
	return int64(v), true
}
