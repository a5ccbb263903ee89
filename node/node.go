// Package node assembles one Seedbed node from its parts (portal, tracker,
// seedbox) around one catalog, runs each long-running part as Serve(ctx), and
// stops them together.
package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/config"
	"github.com/seedbed/seedbed/portal"
	"github.com/seedbed/seedbed/publish"
	"github.com/seedbed/seedbed/seedbox"
	"github.com/seedbed/seedbed/tracker"
	"github.com/seedbed/seedbed/tracker/redisstore"
)

// Parts selects what a process runs.
type Parts struct{ Portal, Tracker, Seedbox bool }

// All is a whole node.
var All = Parts{Portal: true, Tracker: true, Seedbox: true}

// Node is a running set of parts.
type Node struct {
	cfg     config.Config
	parts   Parts
	log     *slog.Logger
	version string

	Catalog   *catalog.Catalog
	Access    *tracker.Access
	Tracker   *tracker.Tracker
	Volumes   *seedbox.Volumes
	Seeder    *seedbox.Seeder
	Publisher *publish.Publisher
	Portal    *portal.App

	// Checker, Replicator and Scrubber keep the seedbox's replicas
	// verified (node/replication.go).
	Checker    *seedbox.Checker
	Replicator *seedbox.Replicator
	Scrubber   *seedbox.Scrubber

	accessSince time.Time
	started     time.Time         // for the heartbeat (node/heartbeat.go)
	redis       *redisstore.Store // the tracker's peer store when on Redis
	leechers    chan newLeecher
	reap        chan struct{} // wakes reapDeleted
}

// New opens the catalog and builds the selected parts. Listening starts in
// Serve.
func New(ctx context.Context, cfg config.Config, parts Parts, log *slog.Logger, version string) (*Node, error) {
	n := &Node{cfg: cfg, parts: parts, log: log, version: version, Access: tracker.NewAccess(), started: time.Now(),
		leechers: make(chan newLeecher, 1024), reap: make(chan struct{}, 1)}
	cat, err := catalog.Open(ctx, catalog.Options{URL: cfg.Database.URL, DataDir: cfg.DataDir, Logger: log})
	if err != nil {
		return nil, err
	}
	n.Catalog = cat
	if err := n.build(ctx); err != nil {
		n.Close()
		return nil, err
	}
	return n, nil
}

func (n *Node) build(ctx context.Context) error {
	if err := n.openVolumes(ctx); err != nil {
		return err
	}
	if n.parts.Tracker {
		opts, err := n.trackerOptions()
		if err != nil {
			return err
		}
		store, err := n.openPeerStore(ctx)
		if err != nil {
			return err
		}
		n.Tracker = tracker.New(opts, n.Access, store, statsSink{n.Catalog})
	}
	if n.parts.Seedbox {
		if err := n.startSeeder(ctx); err != nil {
			return err
		}
	}
	if n.parts.Portal {
		return n.buildPortal()
	}
	return nil
}

// openVolumes registers the configured volumes of this node in the catalog.
func (n *Node) openVolumes(ctx context.Context) error {
	for _, v := range n.cfg.Seedbox.Volumes {
		path, err := filepath.Abs(v.Path)
		if err != nil {
			return fmt.Errorf("volume %s: %w", v.Name, err)
		}
		_, err = n.Catalog.RegisterVolume(ctx, catalog.VolumeInfo{Volume: catalog.Volume{Name: v.Name, Path: path,
			Node: n.cfg.Seedbox.Node, State: v.State}, Capacity: int64(v.Capacity), Reserve: int64(v.Reserve)})
		if err != nil {
			return fmt.Errorf("register volume %s: %w", v.Name, err)
		}
	}
	// The catalog has the runtime truth: states and volumes administrators
	// set with `seedbed volume` (node/volume_watch.go).
	vols, policy, forced, err := n.volumeSetup(ctx)
	if err != nil {
		return err
	}
	vs, err := seedbox.NewVolumes(vols, policy, forced)
	n.Volumes = vs
	return err
}

func (n *Node) startSeeder(ctx context.Context) error {
	u, err := n.Catalog.EnsureSeedboxUser(ctx, "seedbox."+n.cfg.Seedbox.Node)
	if err != nil {
		return fmt.Errorf("seedbox account: %w", err)
	}
	if err := n.openChecker(); err != nil {
		return err
	}
	n.Seeder, err = seedbox.NewSeeder(seedbox.Options{
		Checker:     n.Checker,
		PeerAddr:    n.cfg.Seedbox.PeerAddr,
		AnnounceURL: n.cfg.PublicURL + "/announce/" + u.Passkey,
		DataDir:     filepath.Join(n.cfg.DataDir, "seedbox"),
		UploadRate:  int64(n.cfg.Seedbox.UploadRate),
		Logger:      n.log,
	}, n.Volumes)
	if err != nil {
		return err
	}
	return n.buildReplication()
}

func (n *Node) buildPortal() error {
	n.Publisher = &publish.Publisher{
		Catalog: n.Catalog, Volumes: n.Volumes, Node: n.cfg.Seedbox.Node,
		Published: n.published, Logger: n.log,
	}
	var proxies []netip.Prefix
	for _, c := range n.cfg.HTTP.TrustedProxies {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return fmt.Errorf("http.trusted_proxies: %w", err)
		}
		proxies = append(proxies, p)
	}
	opts := portal.Options{
		Catalog: n.Catalog, Publisher: n.Publisher, Volumes: n.Volumes, Passkeys: passkeys{n.Access},
		Node: n.cfg.Seedbox.Node, PublicURL: n.cfg.PublicURL, SessionTTL: n.cfg.Portal.SessionTTL.D(),
		MaxUploadSize: int64(n.cfg.Portal.MaxUploadSize), TrustedProxies: proxies,
		Version: n.version, Logger: n.log, Deleted: n.torrentDeleted,
		Registration: n.cfg.Portal.Registration, RegistrationDomains: n.cfg.Portal.RegistrationDomains,
	}
	opts.DefaultQuota = int64(n.cfg.Portal.DefaultQuota)
	opts.Checker = n.Checker // nil unless the seedbox runs here
	opts.Retention = &n.cfg.Retention
	if n.Tracker != nil {
		opts.Swarms = n.Tracker
		opts.Metrics = n.Tracker.MetricsHandler()
	}
	var err error
	n.Portal, err = portal.New(opts)
	return err
}

// published makes a new torrent visible to the tracker and seeds it at once,
// with every piece taken as verified: ingest just hashed them.
func (n *Node) published(t *catalog.Torrent, v seedbox.Volume) {
	if ih, ok := hash20(t.InfoHash); ok {
		n.Access.Allow(ih, t.ID)
	}
	if n.Seeder != nil {
		it := seedbox.Item{InfoHash: t.InfoHash, InfoBytes: t.InfoBytes, Volume: v.Name}
		if err := n.Seeder.Seed(context.Background(), it, true); err != nil {
			n.log.Error("seed new torrent", "info_hash", t.InfoHash, "err", err)
		}
	}
}

// Serve listens and runs every part until ctx ends or one part fails.
func (n *Node) Serve(ctx context.Context) error {
	if err := n.syncAccess(ctx, time.Time{}); err != nil {
		return fmt.Errorf("load passkeys and torrents: %w", err)
	}
	if n.Seeder != nil { // online before it answers anything
		if err := n.startBeat(ctx); err != nil {
			return fmt.Errorf("first heartbeat: %w", err)
		}
	}
	var udp net.PacketConn // bound before anything starts: a taken address fails start-up
	if n.Tracker != nil && n.cfg.Tracker.UDPAddr != "" {
		var err error
		if udp, err = listenUDP(n.cfg.Tracker.UDPAddr); err != nil {
			return err
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return n.watchAccess(ctx) })
	g.Go(func() error { return n.serveStorageAdmin(ctx) })
	if n.Tracker != nil {
		g.Go(func() error { return n.Tracker.Serve(ctx) })
		g.Go(func() error { return n.copySwarmCounts(ctx) })
	}
	if udp != nil {
		g.Go(func() error { return serveUDP(ctx, n.Tracker, udp) })
	}
	if n.Seeder != nil {
		g.Go(func() error { return n.heartbeat(ctx) })
		g.Go(func() error { return n.Seeder.Serve(ctx, n.seedList, n.Catalog.InfoBytes, 5*time.Second) })
		g.Go(func() error { return n.introduceLeechers(ctx) })
		g.Go(func() error { return n.Checker.Serve(ctx) })
		g.Go(func() error { return n.Replicator.Serve(ctx) })
		g.Go(func() error { return n.serveScrubRounds(ctx) }) // rounds the "scrub" leader starts
		g.Go(func() error { return n.reapDeleted(ctx) })
		g.Go(func() error { return n.serveTrim(ctx) }) // node/trim.go
	}
	if n.Portal != nil {
		g.Go(func() error { return n.sweepSessions(ctx) })
	}
	if n.Publisher != nil {
		if removed, err := n.Publisher.Sweep(ctx, 10*time.Minute); err != nil {
			n.log.Warn("sweep leftovers", "err", err)
		} else if removed > 0 {
			n.log.Info("removed leftovers of interrupted uploads", "count", removed)
		}
		if age := n.cfg.Portal.UploadMaxAge.D(); age > 0 {
			g.Go(func() error { return n.Publisher.ServeUploadSweeps(ctx, age, min(age/4, time.Hour)) })
			if n.Portal != nil {
				g.Go(func() error { return n.Portal.ServeUploadReservationSweeps(ctx, age, min(age/4, time.Hour)) })
			}
		}
	}
	if n.Portal != nil || n.Tracker != nil {
		// The tracker's fast frontend sets TCP keep-alive itself, on the
		// connections it hands to net/http only (tracker.HTTPListener).
		lc := net.ListenConfig{}
		if n.Tracker != nil {
			lc.KeepAlive = -1
		}
		ln, err := lc.Listen(ctx, "tcp", n.cfg.HTTP.Addr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", n.cfg.HTTP.Addr, err)
		}
		g.Go(func() error { return n.serveHTTP(ctx, ln) })
	}
	n.log.Info("seedbed is running", "url", n.cfg.PublicURL, "node", n.cfg.Seedbox.Node,
		"portal", n.parts.Portal, "tracker", n.parts.Tracker, "seedbox", n.parts.Seedbox)
	return g.Wait()
}

func (n *Node) serveHTTP(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: n.handler(), ReadHeaderTimeout: 15 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if n.Tracker != nil { // announces and scrapes skip net/http
		ln = n.Tracker.HTTPListener(ln, tracker.HTTPListenerOptions{ReadHeaderTimeout: srv.ReadHeaderTimeout,
			IdleTimeout: srv.IdleTimeout, KeepAlive: net.KeepAliveConfig{Enable: true}})
	}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", err)
	}
	return nil
}

// listenUDP binds the UDP tracker's socket (tracker.udp_addr).
func listenUDP(addr string) (net.PacketConn, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("udp tracker: listen on %s (tracker.udp_addr): %w", addr, err)
	}
	return pc, nil
}

// serveUDP runs the UDP tracker (BEP 15) on pc until ctx ends, then closes pc.
func serveUDP(ctx context.Context, t *tracker.Tracker, pc net.PacketConn) error {
	defer pc.Close()
	return t.ServeUDP(ctx, pc)
}

// handler sends tracker requests straight to the tracker, bypassing the web
// framework on the hot path, and everything else to the portal.
func (n *Node) handler() http.Handler {
	mux := http.NewServeMux()
	if n.Tracker != nil {
		mux.Handle("/announce/", n.Tracker)
		mux.Handle("/scrape/", n.Tracker)
	}
	if n.Tracker != nil || n.Scrubber != nil {
		mux.HandleFunc("GET /metrics", n.metrics)
	}
	if n.Portal != nil {
		mux.Handle("/", n.Portal)
	} else {
		mux.HandleFunc("GET /healthz", n.healthz)
	}
	return mux
}

// healthz answers liveness for a node without the portal (which has its
// own): ok while the catalog answers.
func (n *Node) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if err := n.Catalog.Ping(r.Context()); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"status":"catalog unreachable"}`)
		return
	}
	io.WriteString(w, `{"status":"ok"}`)
}

// newLeecher is a leecher that just started, for the local seedbox.
type newLeecher struct {
	ih   [20]byte
	addr netip.AddrPort
}

// onLeecher runs on the announce path: it never blocks, and drops the hint
// when the seedbox is busy (the seedbox's next announce finds the peer too).
func (n *Node) onLeecher(ih [20]byte, addr netip.AddrPort) {
	select {
	case n.leechers <- newLeecher{ih, addr}:
	default:
	}
}

// introduceLeechers makes the local seedbox connect to new leechers at once:
// clients that never dial out (Transmission on 127/8, students behind NAT
// that do accept) get their data without waiting for a re-announce.
func (n *Node) introduceLeechers(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case l := <-n.leechers:
			n.Seeder.AddPeer(l.ih, l.addr)
		}
	}
}

func (n *Node) seedList(ctx context.Context) ([]seedbox.Item, error) {
	ps, err := n.Catalog.PlacementsOnNode(ctx, n.cfg.Seedbox.Node)
	if err != nil {
		return nil, err
	}
	items := make([]seedbox.Item, 0, len(ps))
	for _, p := range ps {
		if !n.Volumes.Readable(p.VolumeName) {
			continue // a volume in maintenance is never read
		}
		items = append(items, seedbox.Item{InfoHash: p.InfoHash, Volume: p.VolumeName})
	}
	return items, nil
}

// Close releases the catalog and the seeding client.
func (n *Node) Close() error {
	var errs []error
	if n.Seeder != nil {
		errs = append(errs, n.Seeder.Close())
	}
	if n.Checker != nil {
		// Last, once nothing reads or writes the volumes: marks the
		// shutdown clean so the next start trusts the ledgers.
		errs = append(errs, n.Checker.Close())
	}
	if n.Catalog != nil {
		errs = append(errs, n.Catalog.Close())
	}
	errs = append(errs, n.closePeerStore())
	return errors.Join(errs...)
}
