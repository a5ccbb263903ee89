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
	Logger      *slog.Logger
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
	log        *slog.Logger

	mu       sync.Mutex
	storages map[string]storage.ClientImplCloser
	torrents map[metainfo.Hash]*torrent.Torrent
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
		torrents:   map[metainfo.Hash]*torrent.Torrent{},
	}
	cfg := s.clientConfig(host, port)
	cl, err := torrent.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("start seeding client on %s: %w", opts.PeerAddr, err)
	}
	s.cl = cl
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
		cfg.UploadRateLimiter = rate.NewLimiter(rate.Limit(s.opts.UploadRate), 1<<20)
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
	st := storage.NewFileOpts(storage.NewFileClientOpts{
		ClientBaseDir: v.Path,
		TorrentDirMaker: func(base string, _ *metainfo.Info, ih metainfo.Hash) string {
			return TorrentDir(base, ih.HexString())
		},
		PieceCompletion: s.completion,
		UsePartFiles:    g.Some(false),
		Logger:          s.log,
	})
	s.storages[volume] = st
	return st, nil
}

// Seed starts seeding it. With verified set, every piece is taken as complete
// without hashing (the ingest pass just hashed them); otherwise anacrolix
// verifies every piece before offering it.
func (s *Seeder) Seed(it Item, verified bool) error {
	var ih metainfo.Hash
	if err := ih.FromHexString(it.InfoHash); err != nil {
		return fmt.Errorf("seed %q: %w", it.InfoHash, err)
	}
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
	if verified {
		if err := s.markComplete(ih, it.InfoBytes); err != nil {
			return err
		}
	}
	t, _ := s.cl.AddTorrentOpt(torrent.AddTorrentOpts{InfoHash: ih, InfoBytes: it.InfoBytes, Storage: st})
	if s.opts.AnnounceURL != "" {
		t.AddTrackers([][]string{{s.opts.AnnounceURL}})
	}
	s.mu.Lock()
	s.torrents[ih] = t
	s.mu.Unlock()
	return nil
}

func (s *Seeder) markComplete(ih metainfo.Hash, infoBytes []byte) error {
	var info metainfo.Info
	if err := infoUnmarshal(infoBytes, &info); err != nil {
		return fmt.Errorf("seed %s: %w", ih.HexString(), err)
	}
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
	s.mu.Lock()
	t, ok := s.torrents[ih]
	delete(s.torrents, ih)
	s.mu.Unlock()
	if ok {
		t.Drop()
	}
}

// Status tells whether the seeder holds a torrent and whether all its pieces
// are verified.
func (s *Seeder) Status(infoHash string) (seeding, complete bool) {
	var ih metainfo.Hash
	if ih.FromHexString(infoHash) != nil {
		return false, false
	}
	s.mu.Lock()
	t, ok := s.torrents[ih]
	s.mu.Unlock()
	if !ok {
		return false, false
	}
	return true, t.Info() != nil && t.Complete().Bool()
}

// WaitComplete blocks until the torrent is fully verified or ctx ends.
func (s *Seeder) WaitComplete(ctx context.Context, infoHash string) error {
	var ih metainfo.Hash
	if err := ih.FromHexString(infoHash); err != nil {
		return err
	}
	s.mu.Lock()
	t, ok := s.torrents[ih]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("not seeding %s", infoHash)
	}
	select {
	case <-t.Complete().On():
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
// its info dict with info when the item has none, and verifying its data)
// and drops what is no longer wanted.
func (s *Seeder) Sync(ctx context.Context, want []Item, info InfoLoader) error {
	keep := make(map[string]bool, len(want))
	var errs []error
	for _, it := range want {
		keep[it.InfoHash] = true
		if seeding, _ := s.Status(it.InfoHash); seeding {
			continue
		}
		if it.InfoBytes == nil {
			b, err := info(ctx, it.InfoHash)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			it.InfoBytes = b
		}
		if err := s.Seed(it, false); err != nil {
			errs = append(errs, err)
		}
	}
	s.mu.Lock()
	var drop []string
	for ih := range s.torrents {
		if !keep[ih.HexString()] {
			drop = append(drop, ih.HexString())
		}
	}
	s.mu.Unlock()
	for _, ih := range drop {
		s.Drop(ih)
	}
	return errors.Join(errs...)
}

// Serve keeps the client in step with source until ctx ends, then closes it.
// source lists what to seed without info dicts; info loads one when needed.
func (s *Seeder) Serve(ctx context.Context, source func(context.Context) ([]Item, error), info InfoLoader, every time.Duration) error {
	defer s.Close()
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if items, err := source(ctx); err != nil {
			if ctx.Err() == nil {
				s.log.Warn("list torrents to seed", "err", err)
			}
		} else if err := s.Sync(ctx, items, info); err != nil {
			s.log.Warn("seed torrents", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Close stops the client and releases the storages.
func (s *Seeder) Close() error {
	var errs []error
	for _, err := range s.cl.Close() {
		errs = append(errs, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range s.storages {
		errs = append(errs, st.Close())
	}
	s.storages = map[string]storage.ClientImplCloser{}
	return errors.Join(errs...)
}

// AddPeer hands the client a peer of a torrent it seeds, typically a leecher
// that just announced to our tracker, so the seedbox connects to it at once
// instead of waiting for its next announce. Unknown torrents are ignored.
func (s *Seeder) AddPeer(ih [20]byte, addr netip.AddrPort) {
	s.mu.Lock()
	t, ok := s.torrents[metainfo.Hash(ih)]
	s.mu.Unlock()
	if !ok || !addr.IsValid() {
		return
	}
	t.AddPeers([]torrent.PeerInfo{{Addr: net.TCPAddrFromAddrPort(addr), Source: torrent.PeerSourceTracker}})
}
