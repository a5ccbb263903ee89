package tracker

import (
	"bufio"
	"bytes"
	"net/http"
	"strings"
	"testing"
	"unsafe"
)

// FuzzParseHead: the fast path's request parser never panics; whatever it
// accepts, net/http reads as the same request (method, route, passkey,
// query, Connection: close, forwarding headers); what it accepts lies in
// the bytes it was given, even in a reused buffer that held another
// connection's request before (no other connection's data); and it asks
// for more bytes only for a prefix of a request it could serve.
func FuzzParseHead(f *testing.F) {
	for _, s := range []string{
		rawGet("/announce/alice?info_hash=%aa&port=1"),
		rawGet("/scrape/alice?info_hash=x", "Connection: close\r\n"),
		rawGet("/announce/pk?x", "X-Forwarded-For: 1.2.3.4, 5.6.7.8\r\n", "X-Real-IP: 9.9.9.9\r\n"),
		"GET /announce/a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
		"GET /announce/a HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
		"GET /announce/.. HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /announce/a HTTP/1.1\nHost: a\n\n",
		"GET /scrape/ HTTP/1.1\r\nhOsT: [::1]:80\r\nCONNECTION: Keep-Alive ,close\r\n\r\nGET /",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"GET /announce/a?q HTTP/1.0\r\n\r\n",
	} {
		f.Add([]byte(s), []byte(rawGet("/announce/bob?z")))
	}
	f.Fuzz(func(t *testing.T, in, before []byte) {
		// A pooled buffer: another connection's bytes first, then this one's.
		buf := make([]byte, fastHeadMax)
		var h fastHead
		copy(buf, before)
		parseHead(buf[:min(len(before), len(buf))], &h, true)
		n := copy(buf, in)
		b := buf[:n]
		got, err := parseHead(b, &h, true)
		switch {
		case err != nil:
			if err != errHandoff {
				t.Fatalf("error %v, want errHandoff", err)
			}
			return
		case got == 0:
			if len(b) >= fastHeadMax {
				t.Fatalf("wants more bytes with %d buffered", len(b))
			}
			if !strings.HasPrefix("GET /announce/", string(b[:min(len(b), 14)])) &&
				!strings.HasPrefix("GET /scrape/", string(b[:min(len(b), 12)])) {
				t.Fatalf("wants more bytes after %q", b)
			}
			return
		case got > len(b):
			t.Fatalf("head length %d of %d bytes", got, len(b))
		}
		within(t, b, h.passkey, h.query)
		within(t, b, h.xff...)
		within(t, b, h.xri...)
		checkLikeNetHTTP(t, b[:got], &h)
	})
}

// within fails unless each non-empty slice lies inside b.
func within(t *testing.T, b []byte, parts ...[]byte) {
	t.Helper()
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	for _, p := range parts {
		if len(p) == 0 {
			continue
		}
		at := uintptr(unsafe.Pointer(unsafe.SliceData(p)))
		if at < lo || at+uintptr(len(p)) > lo+uintptr(len(b)) {
			t.Fatalf("parsed %q from outside the request's bytes", p)
		}
	}
}

// checkLikeNetHTTP reads head with net/http and compares.
func checkLikeNetHTTP(t *testing.T, head []byte, h *fastHead) {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
	if err != nil {
		t.Fatalf("fast path accepts %q, net/http refuses it: %v", head, err)
	}
	route := "/announce"
	if h.scrape {
		route = "/scrape"
	}
	passkey, ok := cutPasskey(r.URL.Path, route)
	switch {
	case r.Method != http.MethodGet || r.ProtoMinor != 1 || !ok:
		t.Fatalf("%q: net/http reads %s %s %s", head, r.Method, r.URL.Path, r.Proto)
	case passkey != string(h.passkey) || r.URL.RawQuery != string(h.query):
		t.Fatalf("%q: passkey %q query %q, net/http %q %q", head, h.passkey, h.query, passkey, r.URL.RawQuery)
	case r.Close != h.close:
		t.Fatalf("%q: close %v, net/http %v", head, h.close, r.Close)
	case r.ContentLength != 0 || len(r.TransferEncoding) > 0:
		t.Fatalf("%q: a body", head)
	}
	if !sameValues(h.xff, r.Header["X-Forwarded-For"]) || !sameValues(h.xri, r.Header["X-Real-Ip"]) {
		t.Fatalf("%q: forwarding headers %q %q, net/http %q", head, h.xff, h.xri, r.Header)
	}
}

func sameValues(a [][]byte, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if string(a[i]) != b[i] {
			return false
		}
	}
	return true
}
