package tracker

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// HTTPListenerOptions configure Tracker.HTTPListener.
type HTTPListenerOptions struct {
	// ReadHeaderTimeout bounds reading a request head, from its first byte
	// (default 15s); IdleTimeout bounds the wait for the next request on a
	// kept-alive connection (default 2m). Use the http.Server's values.
	ReadHeaderTimeout time.Duration
	IdleTimeout       time.Duration
	// KeepAlive, when enabled, is set on each connection handed to net/http:
	// listen with TCP keep-alive off (net.ListenConfig.KeepAlive -1) to
	// spare the tracker's connections the setsockopt calls, and ask for it
	// here for the rest.
	KeepAlive net.KeepAliveConfig
}

// HTTPListener is a fast frontend for announces and scrapes in front of a
// net/http server on the same port. It accepts every connection of ln
// itself: a connection whose requests are GET /announce/{passkey} or GET
// /scrape/{passkey} in plain HTTP/1.1 is served here, with no per-request
// allocation, and answered exactly as Tracker.ServeHTTP would; at the first
// request it does not handle (the portal, HTTP/1.0, a body, an odd header,
// a head over 8 KiB, ...) the connection, with the bytes read so far, is
// handed to net/http through Accept. Run it with http.Server.Serve.
type HTTPListener struct {
	t      *Tracker
	ln     net.Listener
	opts   HTTPListenerOptions
	start  sync.Once
	conns  chan net.Conn // handed to net/http
	done   chan struct{} // closed by Close
	closer sync.Once

	mu     sync.Mutex
	err    error                  // the accept loop's fatal error
	active map[*fastConn]struct{} // for Close

	handoffs atomic.Int64 // connections given to net/http, for tests
}

// HTTPListener returns the fast frontend of t on ln; see HTTPListener.
func (t *Tracker) HTTPListener(ln net.Listener, opts HTTPListenerOptions) *HTTPListener {
	opts.ReadHeaderTimeout = orDefault(opts.ReadHeaderTimeout, 15*time.Second)
	opts.IdleTimeout = orDefault(opts.IdleTimeout, 2*time.Minute)
	deferAccept(ln)
	return &HTTPListener{t: t, ln: ln, opts: opts, conns: make(chan net.Conn),
		done: make(chan struct{}), active: make(map[*fastConn]struct{})}
}

// Accept returns the next connection for net/http. The first call starts
// accepting on the underlying listener.
func (l *HTTPListener) Accept() (net.Conn, error) {
	l.start.Do(func() { go l.acceptLoop() })
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.err != nil {
			return nil, l.err
		}
		return nil, net.ErrClosed
	}
}

// Addr is the underlying listener's address.
func (l *HTTPListener) Addr() net.Addr { return l.ln.Addr() }

// Close stops accepting and ends the fast path's connections once their
// current request is answered; net/http's connections are its own.
func (l *HTTPListener) Close() error {
	err := net.ErrClosed
	l.closer.Do(func() {
		close(l.done)
		err = l.ln.Close()
		l.mu.Lock()
		for c := range l.active {
			c.conn.SetReadDeadline(time.Unix(1, 0)) // wakes a waiting read
		}
		l.mu.Unlock()
	})
	return err
}

func (l *HTTPListener) closing() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}

// acceptLoop accepts until the listener fails; temporary errors (out of
// file descriptors) are retried with a growing pause, as net/http does.
func (l *HTTPListener) acceptLoop() {
	var pause time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				pause = min(max(2*pause, 5*time.Millisecond), time.Second)
				l.t.log.Warn("tracker: http accept", "err", err, "retry_in", pause)
				select {
				case <-time.After(pause):
					continue
				case <-l.done:
					return
				}
			}
			if !l.closing() {
				l.mu.Lock()
				l.err = err
				l.mu.Unlock()
				l.Close()
			}
			return
		}
		pause = 0
		go l.serve(c)
	}
}

func isTemporary(err error) bool {
	var te interface{ Temporary() bool }
	return errors.As(err, &te) && te.Temporary()
}

// fastConn is one connection's state on the fast path, pooled: the read
// buffer holds the bytes of this connection only between reset and release.
type fastConn struct {
	conn    net.Conn
	ip      netip.Addr
	trusted bool // ip is a trusted proxy: its forwarding headers count
	buf     [fastHeadMax]byte
	off, n  int // unparsed bytes: buf[off:n]
	served  int // requests answered
	head    fastHead
	out     []byte
	hops    []string
}

var fastConns = sync.Pool{New: func() any { return &fastConn{out: make([]byte, 0, 4096)} }}

func (l *HTTPListener) track(c *fastConn, on bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !on {
		delete(l.active, c)
		return true
	}
	if l.closing() {
		return false
	}
	l.active[c] = struct{}{}
	return true
}

// serve runs one accepted connection: fast-path requests until it ends or
// one is for net/http.
func (l *HTTPListener) serve(conn net.Conn) {
	c := fastConns.Get().(*fastConn)
	c.conn, c.off, c.n, c.served = conn, 0, 0, 0
	c.ip = remoteAddrIP(conn.RemoteAddr())
	c.trusted = len(l.t.opts.TrustedProxies) > 0 && l.t.trustedProxy(c.ip)
	if !l.track(c, true) {
		conn.Close()
		c.release()
		return
	}
	pending, handoff := l.run(c)
	l.track(c, false)
	if !handoff {
		conn.Close()
		c.release()
		return
	}
	c.release()
	l.handoff(conn, pending)
}

// release returns c to the pool holding no connection; the buffer's old
// bytes stay but only bytes read after the next reset are ever parsed.
func (c *fastConn) release() {
	c.conn, c.off, c.n = nil, 0, 0
	c.head = fastHead{xff: c.head.xff[:0], xri: c.head.xri[:0]}
	clear(c.hops)
	c.hops = c.hops[:0]
	fastConns.Put(c)
}

// run serves requests on c. It returns handoff true, with a copy of the
// unparsed bytes, when the connection is for net/http; false when it is to
// be closed (the client closed it or asked to, a timeout, Close). The read
// deadline is ReadHeaderTimeout from a request's first byte and IdleTimeout
// between requests, as in net/http.
func (l *HTTPListener) run(c *fastConn) (pending []byte, handoff bool) {
	if !l.deadline(c, l.opts.ReadHeaderTimeout) {
		return nil, false
	}
	idle := false
	for {
		if c.off < c.n {
			n, err := parseHead(c.buf[c.off:c.n], &c.head, c.trusted)
			if err != nil {
				return append([]byte(nil), c.buf[c.off:c.n]...), true
			}
			if n > 0 {
				if !l.reply(c) || c.head.close || l.closing() {
					return nil, false
				}
				if c.off += n; c.off < c.n && !l.deadline(c, l.opts.ReadHeaderTimeout) {
					return nil, false // a pipelined request: its own deadline
				}
				continue
			}
		}
		if c.off == c.n { // nothing pending: wait for the next request
			c.off, c.n = 0, 0
			if !idle && !l.deadline(c, l.opts.IdleTimeout) {
				return nil, false
			}
			idle = true
		} else if c.off > 0 {
			c.n = copy(c.buf[:], c.buf[c.off:c.n])
			c.off = 0
		}
		m, err := c.conn.Read(c.buf[c.n:])
		c.n += m
		if err != nil || (m > 0 && idle && !l.deadline(c, l.opts.ReadHeaderTimeout)) {
			return nil, false
		}
		idle = idle && m == 0
	}
}

// deadline sets c's read deadline d from now; false when the connection is
// to be closed. Close sets a past deadline after marking the listener
// closed, so a deadline set here after it is never missed.
func (l *HTTPListener) deadline(c *fastConn, d time.Duration) bool {
	return c.conn.SetReadDeadline(time.Now().Add(d)) == nil && !l.closing()
}

// reply answers the request in c.head with one write.
func (l *HTTPListener) reply(c *fastConn) bool {
	t := l.t
	ctx := context.Background()
	// The strings below point into c.buf, which stays untouched until the
	// reply is written: Announce and Scrape keep neither (the rate limiter
	// clones the passkey it keeps).
	passkey := unsafeString(c.head.passkey)
	query := unsafeString(c.head.query)
	var body []byte
	if c.head.scrape {
		st := t.scrapes.Get().(*httpScrape)
		defer t.scrapes.Put(st)
		body = t.scrapeReply(ctx, st, query, passkey)
	} else {
		st := t.announces.Get().(*httpAnnounce)
		defer t.announces.Put(st)
		body = t.announceReply(ctx, st, query, passkey, l.clientIP(c))
	}
	now := time.Now()
	c.out = appendHTTPReply(c.out[:0], body, c.head.close, now)
	var err error
	if c.served++; c.served > 1 {
		// A kept-alive client that stops reading cannot hold the
		// connection forever: the first reply fits the empty socket
		// buffer, later ones may not.
		err = c.conn.SetWriteDeadline(now.Add(l.opts.IdleTimeout))
	}
	if err == nil {
		_, err = c.conn.Write(c.out)
	}
	if err != nil && t.log.Enabled(ctx, slog.LevelDebug) {
		t.log.Debug("tracker: http reply", "err", err)
	}
	return err == nil
}

// clientIP is Tracker.clientIP for the fast path: the connection's address,
// or when it is a trusted proxy the client its headers name.
func (l *HTTPListener) clientIP(c *fastConn) netip.Addr {
	if !c.trusted {
		return c.ip
	}
	if len(c.head.xff) > 0 {
		c.hops = c.hops[:0]
		for _, v := range c.head.xff {
			c.hops = append(c.hops, string(v))
		}
		if a, ok := l.t.forwardedFor(c.hops); ok {
			return a
		}
	}
	if n := len(c.head.xri); n > 0 {
		if a, ok := parseHop(string(c.head.xri[n-1])); ok {
			return a
		}
	}
	return c.ip
}

func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// remoteAddrIP is the IP of a connection's remote address, unmapped.
func remoteAddrIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	if a == nil {
		return netip.Addr{}
	}
	return remoteIP(a.String())
}

// handoff gives conn to net/http, which reads pending first.
func (l *HTTPListener) handoff(conn net.Conn, pending []byte) {
	if l.opts.KeepAlive.Enable {
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetKeepAliveConfig(l.opts.KeepAlive)
		}
	}
	conn.SetReadDeadline(time.Time{})
	l.handoffs.Add(1)
	rc := &replayConn{Conn: conn, pending: pending}
	select {
	case l.conns <- rc:
	case <-l.done:
		conn.Close()
	}
}

// replayConn is a connection whose first bytes were already read: Read
// returns them before reading on. It keeps the TCP connection's CloseWrite
// and ReadFrom (sendfile) for net/http.
type replayConn struct {
	net.Conn
	pending []byte
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) == 0 {
		return c.Conn.Read(p)
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	if len(c.pending) == 0 {
		c.pending = nil
	}
	return n, nil
}

func (c *replayConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (c *replayConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
