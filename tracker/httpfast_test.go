package tracker

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// frontServer is a tracker served as a node serves it: the fast frontend
// on one port, handing the rest to net/http with the tracker's routes and
// a stand-in portal that describes each request it gets.
type frontServer struct {
	h    *harness
	ln   *HTTPListener
	addr string
}

func frontHandler(tr *Tracker) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/announce/", tr)
	mux.Handle("/scrape/", tr)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "portal %s %s %s body=%q", r.Method, r.RequestURI, r.Proto, body)
	})
	return mux
}

func startServer(t *testing.T, ln net.Listener, h http.Handler) {
	t.Helper()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 15 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	})
}

func newFrontServer(t *testing.T, opts Options, lo HTTPListenerOptions) *frontServer {
	t.Helper()
	h := newHarness(t, opts)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := &frontServer{h: h, ln: h.tr.HTTPListener(raw, lo), addr: raw.Addr().String()}
	startServer(t, fs.ln, frontHandler(h.tr))
	return fs
}

// plainServer serves the same tracker through net/http alone, as before
// the fast frontend.
func plainServer(t *testing.T, tr *Tracker) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	startServer(t, ln, frontHandler(tr))
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second)) // a functional bound, not a timing check
	return c
}

// rawGet is a request as a BitTorrent client writes it.
func rawGet(target string, headers ...string) string {
	return "GET " + target + " HTTP/1.1\r\nHost: tracker.example:8080\r\nUser-Agent: test/1.0\r\n" +
		strings.Join(headers, "") + "\r\n"
}

// readReply reads one raw HTTP reply (Content-Length or chunked) from r.
func readReply(t *testing.T, r *bufio.Reader) []byte {
	t.Helper()
	var raw bytes.Buffer
	length, chunked := -1, false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read reply head: %v (so far %q)", err, raw.String())
		}
		raw.WriteString(line)
		if line == "\r\n" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			fmt.Sscan(v, &length)
		}
		chunked = chunked || line == "Transfer-Encoding: chunked\r\n"
	}
	switch {
	case chunked:
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("read chunk: %v", err)
			}
			raw.WriteString(line)
			var n int
			fmt.Sscanf(line, "%x", &n)
			chunk := make([]byte, n+2)
			if _, err := io.ReadFull(r, chunk); err != nil {
				t.Fatalf("read chunk: %v", err)
			}
			raw.Write(chunk)
			if n == 0 {
				return raw.Bytes()
			}
		}
	case length >= 0:
		body := make([]byte, length)
		if _, err := io.ReadFull(r, body); err != nil {
			t.Fatalf("read body: %v", err)
		}
		raw.Write(body)
	default:
		rest, _ := io.ReadAll(r)
		raw.Write(rest)
	}
	return raw.Bytes()
}

var dateLine = regexp.MustCompile(`(?m)^Date: [^\r]*\r$`)

// normalizeDate blanks the Date header, the one part of a reply that
// depends on when it was written.
func normalizeDate(b []byte) []byte { return dateLine.ReplaceAll(b, []byte("Date: -\r")) }

func exchange(t *testing.T, addr, req string) []byte {
	t.Helper()
	c := dial(t, addr)
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	return readReply(t, bufio.NewReader(c))
}

// TestHTTPListenerSameReplies sends each request to the fast frontend and
// to plain net/http serving the same tracker and wants the same bytes.
func TestHTTPListenerSameReplies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	fs := newFrontServer(t, Options{TrustedProxies: trusted}, HTTPListenerOptions{})
	plain := plainServer(t, fs.h.tr)
	many := make([]string, 0, 40)
	for i := range 40 {
		ih := sha1.Sum([]byte{byte(i)})
		fs.h.access.Allow(ih, uint64(1000+i))
		many = append(many, "info_hash="+url.QueryEscape(string(ih[:])))
	}
	reqs := []string{
		rawGet(ann{peer: 1, left: 5, event: "started"}.path()),
		rawGet(ann{peer: 2, left: 0}.path(), "Connection: close\r\n"),
		rawGet(ann{peer: 3, left: 5, extra: "compact=0"}.path(), "Connection: keep-alive, Close\r\n"),
		rawGet(ann{peer: 4, left: 5, extra: "compact=0&no_peer_id=1"}.path()),
		rawGet(ann{passkey: "nobody", peer: 5}.path()),
		rawGet(ann{passkey: "mallory", peer: 5}.path()),
		rawGet("/announce/?" + ann{peer: 6}.query()),
		rawGet("/announce/alice?info_hash=abc"),
		rawGet("/announce/alice"),
		rawGet(ann{ih: ihStray, peer: 7}.path()),
		rawGet(ann{peer: 8, left: 1}.path(), "X-Forwarded-For: 192.0.2.1, 127.0.0.9\r\n"),
		rawGet(ann{peer: 9, left: 1}.path(), "X-Real-IP: 192.0.2.9\r\n", "Connection: close\r\n"),
		rawGet("/scrape/alice?info_hash=" + url.QueryEscape(string(ihOne[:]))),
		rawGet("/scrape/alice?" + strings.Join(many, "&")), // a long reply: chunked
		rawGet("/scrape/bob"),
		rawGet("/scrape/nobody?info_hash=x"),
		// For net/http in either case:
		rawGet("/announce/a/b?x=1"),
		rawGet("/announce/../metrics"),
		rawGet("/announce?" + ann{peer: 1}.query()),
		rawGet("/"),
		"GET /announce/alice?" + ann{ih: ihTwo, peer: 1}.query() + " HTTP/1.0\r\n\r\n",
		"GET /announce/alice?x HTTP/1.1\r\n\r\n",
	}
	for i, req := range reqs {
		fast := normalizeDate(exchange(t, fs.addr, req))
		want := normalizeDate(exchange(t, plain, req))
		if !bytes.Equal(fast, want) {
			t.Errorf("request %d %q:\nfast frontend %q\n     net/http %q", i, req, fast, want)
		}
	}
	if n := fs.ln.handoffs.Load(); n != 6 {
		t.Errorf("%d connections went to net/http, want the last 6", n)
	}
	if got := exchange(t, fs.addr, reqs[13]); !bytes.Contains(got, []byte("Transfer-Encoding: chunked")) {
		t.Errorf("the long scrape was not chunked, the case it covers: %q", got)
	}
}

// TestHTTPListenerNetHTTPClient drives the frontend with Go's HTTP client,
// with and without keep-alive, and the portal on the same port.
func TestHTTPListenerNetHTTPClient(t *testing.T) {
	fs := newFrontServer(t, Options{}, HTTPListenerOptions{})
	for _, keep := range []bool{true, false} {
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: !keep}, Timeout: 10 * time.Second}
		for i := 1; i <= 5; i++ {
			get := func(target string) string {
				resp, err := client.Get("http://" + fs.addr + target)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 200 {
					t.Fatalf("GET %s: %s %q", target, resp.Status, body)
				}
				return string(body)
			}
			if body := get(ann{peer: i, left: 1}.path()); !strings.HasPrefix(body, "d8:completei") {
				t.Errorf("announce %d (keep-alive %v): %q", i, keep, body)
			}
			if body := get("/portal/page?x=1"); body != `portal GET /portal/page?x=1 HTTP/1.1 body=""` {
				t.Errorf("portal (keep-alive %v): %q", keep, body)
			}
		}
		client.CloseIdleConnections()
	}
	if c := fs.h.tr.Counts(ihOne); c.Leechers != 5 {
		t.Errorf("counts %+v, want the 5 leechers", c)
	}
}

// TestHTTPListenerPipelined writes several requests at once on one
// connection, then one for net/http, then one more announce that net/http
// now answers, and wants every reply in order.
func TestHTTPListenerPipelined(t *testing.T) {
	fs := newFrontServer(t, Options{}, HTTPListenerOptions{})
	c := dial(t, fs.addr)
	post := "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
	batch := rawGet(ann{peer: 1, left: 1}.path()) + rawGet("/scrape/alice") +
		rawGet(ann{peer: 2, left: 1}.path()) + post + rawGet(ann{peer: 3, left: 1}.path(), "Connection: close\r\n")
	if _, err := io.WriteString(c, batch); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	wants := []string{"d8:completei0e", "d5:filesd", "d8:completei0e", `portal POST /upload HTTP/1.1 body="hello"`, "d8:completei0e"}
	for i, want := range wants {
		got := readReply(t, r)
		if !bytes.HasPrefix(got, []byte("HTTP/1.1 200 OK\r\n")) || !bytes.Contains(got, []byte("\r\n\r\n"+want)) {
			t.Errorf("reply %d: %q, want body starting %q", i, got, want)
		}
	}
	if rest, err := io.ReadAll(r); err != nil || len(rest) > 0 {
		t.Errorf("after Connection: close: %q, %v; want the connection closed", rest, err)
	}
}

// TestHTTPListenerSlowClient writes requests a few bytes at a time, as a
// slow network delivers them, with the prefix test split mid-word.
func TestHTTPListenerSlowClient(t *testing.T) {
	fs := newFrontServer(t, Options{}, HTTPListenerOptions{})
	for _, req := range []string{rawGet(ann{peer: 1, left: 1}.path()), rawGet("/portal")} {
		c := dial(t, fs.addr)
		for i := 0; i < len(req); i += 3 {
			if _, err := io.WriteString(c, req[i:min(i+3, len(req))]); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		got := readReply(t, bufio.NewReader(c))
		if !bytes.HasPrefix(got, []byte("HTTP/1.1 200 OK\r\n")) {
			t.Errorf("%q: reply %q", req[:20], got)
		}
	}
}

// TestHTTPListenerLimits: a head over the fast path's limit, a body, an
// HTTP/2 preface and a missing Host go to net/http and get its answers; a
// client that never finishes its head is disconnected at the header
// timeout, and an idle one at the idle timeout.
func TestHTTPListenerLimits(t *testing.T) {
	fs := newFrontServer(t, Options{}, HTTPListenerOptions{ReadHeaderTimeout: 200 * time.Millisecond, IdleTimeout: 300 * time.Millisecond})
	huge := rawGet(ann{peer: 1, left: 1}.path(), "X-Filler: "+strings.Repeat("y", 2<<20)+"\r\n")
	cases := []struct{ name, req, status string }{
		{"head over 1 MiB", huge, "HTTP/1.1 431 "},
		{"long head for net/http", rawGet(ann{peer: 1, left: 1}.path(), "X-Filler: "+strings.Repeat("y", 10000)+"\r\n"), "HTTP/1.1 200 "},
		{"chunked body", "GET /announce/alice HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.1 200 "},
		{"no host", "GET /announce/alice HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "},
		{"two hosts", "GET /announce/alice HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "HTTP/1.1 400 "},
		{"bad header name", "GET /announce/alice HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", "HTTP/1.1 400 "},
		{"http2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "HTTP/1.1 400 "},
		{"absolute form", "GET http://x/announce/alice HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 200 "},
	}
	for _, tc := range cases {
		c := dial(t, fs.addr)
		go io.WriteString(c, tc.req) // the server may answer before reading it all
		got := readReply(t, bufio.NewReader(c))
		if !bytes.HasPrefix(got, []byte(tc.status)) {
			t.Errorf("%s: %.80q, want %q", tc.name, got, tc.status)
		}
	}
	for _, partial := range []string{"", "GET /announce/alice?info_hash=", rawGet(ann{peer: 2}.path()) + "GET /ann"} {
		c := dial(t, fs.addr)
		io.WriteString(c, partial)
		got, err := io.ReadAll(c) // ends when the server closes: before the 10 s dial deadline
		if err != nil {
			t.Errorf("%q: %v, want the server to close the connection", partial, err)
		}
		if n := bytes.Count(got, []byte("HTTP/1.1 200")); n != strings.Count(partial, "HTTP/1.1") {
			t.Errorf("%q: got %q", partial, got)
		}
	}
}

// TestHTTPListenerClose: Close ends Accept and the idle fast connections.
func TestHTTPListenerClose(t *testing.T) {
	h := newHarness(t, Options{})
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := h.tr.HTTPListener(raw, HTTPListenerOptions{})
	accepted := make(chan error, 1)
	go func() { _, err := ln.Accept(); accepted <- err }()
	c := dial(t, raw.Addr().String())
	io.WriteString(c, rawGet(ann{peer: 1, left: 1}.path()))
	r := bufio.NewReader(c)
	readReply(t, r)
	ln.Close()
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Errorf("idle connection after Close: %v, want EOF", err)
	}
}

// TestHTTPListenerTrustedProxy: forwarding headers name the client only
// behind a trusted proxy, as on the net/http path.
func TestHTTPListenerTrustedProxy(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		var opts Options
		if trusted {
			opts.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		}
		fs := newFrontServer(t, opts, HTTPListenerOptions{})
		exchange(t, fs.addr, rawGet(ann{peer: 1, left: 0}.path(), "X-Forwarded-For: 198.51.100.7\r\n"))
		exchange(t, fs.addr, rawGet(ann{peer: 2, left: 0}.path(), "X-Real-Ip: 198.51.100.8\r\n"))
		got := exchange(t, fs.addr, rawGet(ann{peer: 3, left: 5}.path()))
		has := bytes.Contains(got, []byte{198, 51, 100, 7, 0x1a, 0xe1}) && bytes.Contains(got, []byte{198, 51, 100, 8, 0x1a, 0xe1})
		if has != trusted {
			t.Errorf("trusted %v: reply %q: forwarded addresses used %v", trusted, got, has)
		}
	}
}
