package seedbox

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"time"

	"github.com/anacrolix/torrent"
	"golang.org/x/time/rate"
)

// The upload cap is enforced on the peer sockets, not through anacrolix's
// ClientConfig.UploadRateLimiter. anacrolix v1.61 reserves each block on
// that limiter and, when it must wait, cancels the reservation and arms a
// timer that wakes the connection's writer; but the writer takes its wake-up
// channel only after it returned from filling its buffer, so a timer firing
// in between is lost and the connection sleeps until something else wakes
// it: its 1-minute keep-alive timer, since a client with a full request
// pipeline (aria2c) sends nothing new. Measured here: stalls of exactly the
// keep-alive period (1 s when it was set to 1 s), and an 8 MiB/s cap that
// delivered 0.3 MiB/s over 64 MiB. Shaping the socket writes instead blocks
// the writer goroutine in Write, which needs no wake-up at all.

// shapeChunk is the most one Write sends before waiting on the limiter
// again, so connections sharing the cap take turns in small steps.
const shapeChunk = 64 << 10

// newUploadLimiter returns the limiter shared by every peer connection of
// the client for a cap of bps bytes per second. Its burst, a tenth of a
// second of the cap within [64 KiB, 4 MiB], bounds how far a connection may
// run ahead of the cap after an idle spell.
func newUploadLimiter(bps int64) *rate.Limiter {
	burst := min(max(bps/10, shapeChunk), 4<<20)
	return rate.NewLimiter(rate.Limit(bps), int(burst))
}

// shapePeerSockets makes the client listen and dial through sockets whose
// writes pass lim: the built-in TCP sockets are turned off (cfg.DisableTCP;
// uTP is already off) and addShapedSockets adds ours once the client exists.
func shapePeerSockets(cfg *torrent.ClientConfig) {
	cfg.DisableTCP = true
}

// addShapedSockets listens on host:port and registers that listener and a
// dialer with cl; every connection they make writes through lim. The
// returned listener is the caller's to close, after cl is closed.
func addShapedSockets(cl *torrent.Client, host string, port int, lim *rate.Limiter) (net.Listener, error) {
	network := "tcp"
	if ip, err := netip.ParseAddr(host); err == nil {
		network = "tcp6"
		if ip.Is4() {
			network = "tcp4"
		}
	}
	lc := net.ListenConfig{KeepAlive: -1} // BitTorrent has its own keep-alives
	ln, err := lc.Listen(context.Background(), network, net.JoinHostPort(host, fmt.Sprint(port)))
	if err != nil {
		return nil, fmt.Errorf("listen for peers on %s: %w", net.JoinHostPort(host, fmt.Sprint(port)), err)
	}
	cl.AddListener(shapedListener{Listener: ln, lim: lim})
	cl.AddDialer(shapedDialer{network: network, lim: lim, d: &net.Dialer{KeepAlive: -1, FallbackDelay: -1}})
	return ln, nil
}

// shapedListener accepts connections whose writes pass lim.
type shapedListener struct {
	net.Listener
	lim *rate.Limiter
}

func (l shapedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newShapedConn(c, l.lim), nil
}

// shapedDialer dials connections whose writes pass lim.
type shapedDialer struct {
	network string
	lim     *rate.Limiter
	d       *net.Dialer
}

func (d shapedDialer) Dial(ctx context.Context, addr string) (net.Conn, error) {
	c, err := d.d.DialContext(ctx, d.network, addr)
	if err != nil {
		return nil, err
	}
	return newShapedConn(c, d.lim), nil
}

func (d shapedDialer) DialerNetwork() string { return d.network }

// shapedConn is a peer connection whose writes wait for lim's tokens.
type shapedConn struct {
	net.Conn
	lim    *rate.Limiter
	ctx    context.Context // done once the connection is closed
	cancel context.CancelFunc
	once   sync.Once

	mu       sync.Mutex
	deadline time.Time // write deadline, honoured while waiting too
}

func newShapedConn(c net.Conn, lim *rate.Limiter) *shapedConn {
	ctx, cancel := context.WithCancel(context.Background())
	return &shapedConn{Conn: c, lim: lim, ctx: ctx, cancel: cancel}
}

// Write sends b in chunks of at most shapeChunk (and the limiter's burst),
// waiting for the limiter before each.
func (c *shapedConn) Write(b []byte) (int, error) {
	chunk := min(shapeChunk, c.lim.Burst())
	n := 0
	for len(b) > 0 {
		k := min(len(b), chunk)
		if err := c.wait(k); err != nil {
			return n, err
		}
		m, err := c.Conn.Write(b[:k])
		n += m
		if err != nil {
			return n, err
		}
		b = b[k:]
	}
	return n, nil
}

func (c *shapedConn) wait(n int) error {
	ctx := c.ctx
	c.mu.Lock()
	dl := c.deadline
	c.mu.Unlock()
	if !dl.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	err := c.lim.WaitN(ctx, n)
	switch {
	case err == nil:
		return nil
	case c.ctx.Err() != nil:
		return net.ErrClosed
	case !dl.IsZero():
		// WaitN refuses at once a wait that would pass the deadline.
		return &net.OpError{Op: "write", Net: "tcp", Err: os.ErrDeadlineExceeded}
	default:
		return fmt.Errorf("upload rate limit: %w", err)
	}
}

func (c *shapedConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return c.Conn.SetWriteDeadline(t)
}

func (c *shapedConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return c.Conn.SetDeadline(t)
}

func (c *shapedConn) Close() error {
	c.once.Do(c.cancel)
	return c.Conn.Close()
}
