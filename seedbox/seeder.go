package seedbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
	"golang.org/x/time/rate"
)

// Item is one torrent the seedbox should seed from one volume.
type Item struct {
	InfoHash  string // 40 lowercase hex
	InfoBytes []byte // nil: Sync loads it when the torrent is first added
	Volume    string
}

// InfoLoader returns the bencoded info dict of a torrent.
type InfoLoader func(ctx context.Context, infoHash string) ([]byte, error)

// Options configure the seeding client.
type Options struct {
	PeerAddr    string // host:port the client listens on
	AnnounceURL string // our tracker's announce URL with the seedbox passkey
	DataDir     string // scratch space for the client
	UploadRate  int64  // bytes per second; 0 is unlimited
	// Checker vouches for replicas before they are seeded: a replica its
	// ledger trusts starts with every piece complete, any other is verified
	// piece by piece first. Nil leaves verification to anacrolix.
	Checker *Checker
	Logger  *slog.Logger
}

// Seeder is an anacrolix/torrent client that seeds every stored torrent.
//
// Client settings follow what was measured here: no DHT, no PEX (v1.61 ignores
// the private flag), no uTP (it throttled loopback downloads), no port
// forwarding, no WebTorrent.
type Seeder struct {
	opts       Options
	vols       *Volumes
	cl         *torrent.Client
	completion storage.PieceCompletion
	upload     *rate.Limiter // the client's upload cap; nil: unlimited
	trust      *PieceTrust   // pieces verified on read; the Checker's when there is one
	listener   net.Listener  // the shaped peer listener when upload is set
	log        *slog.Logger

	kick chan struct{}
	// readyAfter, when set, holds Ready back until it is closed and the
	// seeder has synced once more (ReadyAfter).
	readyAfter <-chan struct{}
	ready      chan struct{}
	readyOnce  sync.Once

	// locks serializes Seed and Drop of one torrent, so a drop never
	// races a seed of the same torrent from another replica.
	locks hashLocks

	mu       sync.Mutex
	storages map[string]storage.ClientImplCloser
	torrents map[metainfo.Hash]seeded
	fetching map[metainfo.Hash]bool // being downloaded by Fetch: Sync leaves them alone
	// carried holds the peers of torrents dropped from a bad replica until
	// they are seeded from another one (seeder_peers.go).
	carried map[metainfo.Hash][]torrent.PeerInfo
	adds    map[metainfo.Hash]int // times each torrent was added to the client
}

// seeded is a torrent in the client and the volume it is served from.
type seeded struct {
	t      *torrent.Torrent
	volume string
}

// NewSeeder starts the client listening on opts.PeerAddr.
func NewSeeder(opts Options, vols *Volumes) (*Seeder, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	host, portStr, err := net.SplitHostPort(opts.PeerAddr)
	if err != nil {
		return nil, fmt.Errorf("peer addr %q: %w", opts.PeerAddr, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("peer addr %q: bad port: %w", opts.PeerAddr, err)
	}
	s := &Seeder{
		opts:       opts,
		vols:       vols,
		completion: storage.NewMapPieceCompletion(),
		log:        opts.Logger.With("part", "seedbox"),
		storages:   map[string]storage.ClientImplCloser{},
		torrents:   map[metainfo.Hash]seeded{},
		fetching:   map[metainfo.Hash]bool{},
		kick:       make(chan struct{}, 1),
		ready:      make(chan struct{}),
		trust:      NewPieceTrust(0),
	}
	if opts.Checker != nil {
		s.trust = opts.Checker.Trust()
	}
	cfg := s.clientConfig(host, port)
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("start seeding client on %s: %w", opts.PeerAddr, err)
	}
	s.cl = cl
	if s.upload != nil {
		ln, err := addShapedSockets(cl, host, port, s.upload)
		if err != nil {
			cl.Close()
			return nil, fmt.Errorf("start seeding client on %s: %w", opts.PeerAddr, err)
		}
		s.listener = ln
	}
	return s, nil
}

func (s *Seeder) clientConfig(host string, port int) *torrent.ClientConfig {
	cfg := torrent.NewDefaultClientConfig()
	cfg.DataDir = s.opts.DataDir
	cfg.DefaultStorage = storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir:   s.opts.DataDir,
		PieceCompletion: s.completion,
		UsePartFiles:    g.Some(false),
	})
	cfg.Seed = true
	cfg.NoDHT = true
	cfg.DisablePEX = true
	cfg.DisableUTP = true
	cfg.NoDefaultPortForwarding = true
	cfg.DisableWebtorrent = true
	cfg.DisableWebseeds = true
	cfg.ListenPort = port
	cfg.ListenHost = func(string) string { return host }
	cfg.Slogger = s.log
	if ip, err := netip.ParseAddr(host); err == nil {
		cfg.DisableIPv6 = ip.Is4()
		cfg.DisableIPv4 = ip.Is6()
		if !ip.IsUnspecified() {
			// Announce from the peer address so the tracker records the
			// seedbox where it actually listens.
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: ip.AsSlice()}, Timeout: 10 * time.Second}
			cfg.TrackerDialContext = d.DialContext
		}
	}
	if s.opts.UploadRate > 0 {
		// The cap is applied to the peer sockets' writes, not handed to
		// anacrolix as its UploadRateLimiter (seeder_shape.go says why).
		s.upload = newUploadLimiter(s.opts.UploadRate)
		shapePeerSockets(cfg)
	}
	return cfg
}

// storageFor returns the file storage rooted at the named volume.
func (s *Seeder) storageFor(volume string) (storage.ClientImpl, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st, ok := s.storages[volume]; ok {
		return st, nil
	}
	v, ok := s.vols.ByName(volume)
	if !ok {
		return nil, fmt.Errorf("unknown volume %q", volume)
	}
	if v.State == StateMaintenance {
		return nil, fmt.Errorf("volume %s is in maintenance", volume)
	}
	files := storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir: v.Path,
		TorrentDirMaker: func(base string, _ *metainfo.Info, ih metainfo.Hash) string {
			return TorrentDir(base, ih.HexString())
		},
		PieceCompletion: s.completion,
		UsePartFiles:    g.Some(false),
		Logger:          s.log,
	})
	st := &verifyingStorage{inner: files, volume: volume, root: v.Path, trust: s.trust,
		onBad: func(ih metainfo.Hash, info *metainfo.Info, piece int, rescued bool, err error) {
			go s.servedPieceBad(volume, ih.HexString(), info, piece, rescued, err)
		},
		rescue: func(ih metainfo.Hash, info *metainfo.Info, piece int) []byte {
			return s.pieceElsewhere(volume, ih.HexString(), info, piece)
		}}
	s.storages[volume] = st
	return st, nil
}

// Seed starts seeding it. With verified set, every piece is taken as complete
// without hashing (the ingest pass just hashed them) and the Checker records
// it; otherwise the Checker vouches for the replica or verifies it first,
// and a replica that fails is not seeded (ErrReplicaBad). Without a Checker
// anacrolix verifies every piece before offering it.
func (s *Seeder) Seed(ctx context.Context, it Item, verified bool) error {
	var ih metainfo.Hash
	if err := ih.FromHexString(it.InfoHash); err != nil {
		return fmt.Errorf("seed %q: %w", it.InfoHash, err)
	}
	defer s.locks.lock(ih)()
	s.mu.Lock()
	_, have := s.torrents[ih]
	s.mu.Unlock()
	if have {
		return nil
	}
	st, err := s.storageFor(it.Volume)
	if err != nil {
		return fmt.Errorf("seed %s: %w", it.InfoHash, err)
	}
	var info metainfo.Info
	if err := infoUnmarshal(it.InfoBytes, &info); err != nil {
		return fmt.Errorf("seed %s: %w", it.InfoHash, err)
	}
	complete, err := s.vouch(ctx, it, &info, verified)
	if err != nil {
		return err
	}
	if complete {
		if err := s.markComplete(ih, &info); err != nil {
			return err
		}
	}
	t, _ := s.cl.AddTorrentOpt(torrent.AddTorrentOpts{InfoHash: ih, InfoBytes: it.InfoBytes, Storage: st})
	if u := s.announceURL(ih); u != "" {
		t.AddTrackers([][]string{{u}})
	}
	s.mu.Lock()
	s.torrents[ih] = seeded{t: t, volume: it.Volume}
	peers := s.carried[ih]
	delete(s.carried, ih)
	s.mu.Unlock()
	if len(peers) > 0 {
		t.AddPeers(peers)
	}
	return nil
}

// ErrReplicaBad means a replica failed verification and is not seeded.
var ErrReplicaBad = errors.New("replica failed verification")

// vouch tells whether every piece of it may be marked complete up front.
func (s *Seeder) vouch(ctx context.Context, it Item, info *metainfo.Info, verified bool) (bool, error) {
	c := s.opts.Checker
	if c == nil {
		return verified, nil
	}
	if verified {
		if err := c.Record(it.Volume, it.InfoHash, info); err != nil {
			s.log.Warn("record verified replica", "info_hash", it.InfoHash, "err", err)
		}
		return true, nil
	}
	res, _, err := c.Check(ctx, it.Volume, it.InfoHash, info)
	if err != nil {
		return false, fmt.Errorf("seed %s: %w", it.InfoHash, err)
	}
	if !res.OK() {
		return false, fmt.Errorf("seed %s from %s: %w", it.InfoHash, it.Volume, ErrReplicaBad)
	}
	return true, nil
}

func (s *Seeder) markComplete(ih metainfo.Hash, info *metainfo.Info) error {
	for i := range info.NumPieces() {
		if err := s.completion.Set(metainfo.PieceKey{InfoHash: ih, Index: i}, true); err != nil {
			return fmt.Errorf("mark piece %d of %s: %w", i, ih.HexString(), err)
		}
	}
	return nil
}

// Drop stops seeding a torrent (its data stays on disk).
func (s *Seeder) Drop(infoHash string) {
	var ih metainfo.Hash
	if ih.FromHexString(infoHash) != nil {
		return
	}
	defer s.locks.lock(ih)()
	s.drop(ih, false)
}

// drop is Drop with the torrent's lock held. With keepPeers the torrent's
// peers are handed to the next Seed of it, which serves it from another
// replica.
func (s *Seeder) drop(ih metainfo.Hash, keepPeers bool) {
	s.mu.Lock()
	sd, ok := s.torrents[ih]
	delete(s.torrents, ih)
	s.mu.Unlock()
	if !ok {
		return
	}
	n := 0
	if sd.t.Info() != nil {
		n = sd.t.NumPieces()
	}
	if keepPeers {
		s.carryPeers(ih, sd.t)
	} else {
		s.mu.Lock()
		delete(s.carried, ih)
		s.mu.Unlock()
	}
	sd.t.Drop()
	// Forget the pieces: a later Seed from another replica starts from what
	// that replica's check says, not from what this one had.
	for i := range n {
		s.completion.Set(metainfo.PieceKey{InfoHash: ih, Index: i}, false)
	}
}

// Kick makes Serve sync with its source now instead of at the next tick.
func (s *Seeder) Kick() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Ready is closed once the first sync has added every stored torrent.
func (s *Seeder) Ready() <-chan struct{} { return s.ready }

// Volume returns the volume a torrent is served from.
func (s *Seeder) Volume(infoHash string) (string, bool) {
	var ih metainfo.Hash
	if ih.FromHexString(infoHash) != nil {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sd, ok := s.torrents[ih]
	return sd.volume, ok
}

// Status tells whether the seeder holds a torrent and whether all its pieces
// are verified.
func (s *Seeder) Status(infoHash string) (seeding, complete bool) {
	var ih metainfo.Hash
	if ih.FromHexString(infoHash) != nil {
		return false, false
	}
	s.mu.Lock()
	sd, ok := s.torrents[ih]
	s.mu.Unlock()
	if !ok {
		return false, false
	}
	return true, sd.t.Info() != nil && sd.t.Complete().Bool()
}

// WaitComplete blocks until the torrent is fully verified or ctx ends.
func (s *Seeder) WaitComplete(ctx context.Context, infoHash string) error {
	var ih metainfo.Hash
	if err := ih.FromHexString(infoHash); err != nil {
		return err
	}
	s.mu.Lock()
	sd, ok := s.torrents[ih]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("not seeding %s", infoHash)
	}
	select {
	case <-sd.t.Complete().On():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Count is the number of torrents in the client.
func (s *Seeder) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.torrents)
}

// Sync makes the client seed exactly want: it adds what is missing (loading
// its info dict with info when the item has none, and checking its replica)
// and drops what is no longer wanted. A torrent listed on several volumes is
// seeded from the first one whose replica checks out; one served from a
// volume no longer listed for it moves to a listed one.
func (s *Seeder) Sync(ctx context.Context, want []Item, info InfoLoader) error {
	byHash := map[string][]Item{}
	var order []string
	for _, it := range want {
		if _, ok := byHash[it.InfoHash]; !ok {
			order = append(order, it.InfoHash)
		}
		byHash[it.InfoHash] = append(byHash[it.InfoHash], it)
	}
	var errs []error
	for _, ih := range order {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		errs = append(errs, s.syncOne(ctx, byHash[ih], info))
	}
	s.mu.Lock()
	var drop []string
	for ih := range s.torrents {
		if _, ok := byHash[ih.HexString()]; !ok && !s.fetching[ih] {
			drop = append(drop, ih.HexString())
		}
	}
	s.mu.Unlock()
	for _, ih := range drop {
		s.Drop(ih)
	}
	return errors.Join(errs...)
}

// syncOne seeds one torrent from the first good replica of items.
func (s *Seeder) syncOne(ctx context.Context, items []Item, info InfoLoader) error {
	ih := items[0].InfoHash
	if vol, ok := s.Volume(ih); ok {
		for _, it := range items {
			if it.Volume == vol {
				return nil
			}
		}
		s.Drop(ih)
	}
	var infoBytes []byte
	var errs []error
	for _, it := range items {
		if it.InfoBytes == nil {
			if infoBytes == nil {
				b, err := info(ctx, ih)
				if err != nil {
					return err
				}
				infoBytes = b
			}
			it.InfoBytes = infoBytes
		}
		err := s.Seed(ctx, it, false)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ReadyAfter holds Ready back until settled is closed and a sync after it
// is done: the replicator's start-up check of this node's pending replicas
// (Replicator.Settled). Call it before Serve.
func (s *Seeder) ReadyAfter(settled <-chan struct{}) { s.readyAfter = settled }

// Serve keeps the client in step with source until ctx ends, then closes it.
// source lists what to seed without info dicts; info loads one when needed.
func (s *Seeder) Serve(ctx context.Context, source func(context.Context) ([]Item, error), info InfoLoader, every time.Duration) error {
	defer s.Close()
	tick := time.NewTicker(every)
	defer tick.Stop()
	start := time.Now()
	gate := s.readyAfter
	for {
		settled := gate == nil || isClosed(gate) // looked at before the list is read
		if settled {
			gate = nil
		}
		if items, err := source(ctx); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("list torrents to seed", "err", err)
			}
		} else {
			if err := s.Sync(ctx, items, info); err != nil && ctx.Err() == nil {
				s.log.Warn("seed torrents", "err", err)
			}
			if settled {
				s.readyOnce.Do(func() {
					s.log.Info("seedbox ready", "torrents", s.Count(), "took", time.Since(start).Round(time.Millisecond))
					close(s.ready)
				})
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		case <-s.kick:
		case <-gate: // nil once settled: never chosen again
		}
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Close stops the client and releases the storages.
func (s *Seeder) Close() error {
	var errs []error
	for _, err := range s.cl.Close() {
		errs = append(errs, err)
	}
	if s.listener != nil {
		// After the client: its accept loop ends once it sees it closed.
		if err := s.listener.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.storages {
		errs = append(errs, st.Close())
	}
	s.storages = map[string]storage.ClientImplCloser{}
	return errors.Join(errs...)
}
