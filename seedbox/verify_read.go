package seedbox

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"sync"

	g "github.com/anacrolix/generics"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
)

// ErrPieceCorrupt means a piece read from a replica no longer matches the
// SHA-1 of its info dict (BEP 3): the seeder refuses to serve it.
var ErrPieceCorrupt = errors.New("piece does not match its hash")

// verifyingStorage wraps the file storage of a volume so that every piece
// is hashed against the info dict before the seeder serves any of it:
// anacrolix trusts piece completion and never hashes on read, so without it
// a byte flipped on disk after verification would reach peers until the
// scrub found it. A piece that fails is served from another replica when
// rescue finds a good copy of it; otherwise it is refused (the peer gets a
// reject, never bad data) and marked not complete. Either way the replica
// is reported through onBad.
type verifyingStorage struct {
	inner storage.ClientImpl
	// onBad hears of a piece that failed, or of a piece that could not be
	// read (err is not ErrPieceCorrupt), once per opened torrent; rescued
	// tells whether a good copy of it was found elsewhere.
	onBad func(ih metainfo.Hash, info *metainfo.Info, piece int, rescued bool, err error)
	// rescue returns the piece, checked against its hash, from another
	// replica, or nil; it may be nil.
	rescue func(ih metainfo.Hash, info *metainfo.Info, piece int) []byte
	// volume and root name the volume the wrapped storage reads; trust
	// remembers the pieces that hashed correctly (shared with the web seed).
	volume, root string
	trust        *PieceTrust
}

// maxRescued bounds the pieces of one torrent held in memory after they
// were read from another replica: the seeder moves the torrent to a good
// replica long before.
const maxRescued = 64

// OpenTorrent opens the torrent in the wrapped storage and wraps its pieces.
// Only per-piece access is offered, so every read goes through a piece.
func (s *verifyingStorage) OpenTorrent(ctx context.Context, info *metainfo.Info, ih metainfo.Hash) (storage.TorrentImpl, error) {
	ti, err := s.inner.OpenTorrent(ctx, info, ih)
	if err != nil {
		return ti, err
	}
	vt := &verifyingTorrent{s: s, ih: ih, info: info, dir: TorrentDir(s.root, ih.HexString())}
	out := storage.TorrentImpl{Close: ti.Close, Capacity: ti.Capacity}
	if ti.PieceWithHash != nil {
		out.PieceWithHash = func(p metainfo.Piece, h g.Option[[]byte]) storage.PieceImpl {
			return &verifyingPiece{PieceImpl: ti.PieceWithHash(p, h), t: vt, p: p}
		}
	}
	if ti.Piece != nil {
		out.Piece = func(p metainfo.Piece) storage.PieceImpl {
			return &verifyingPiece{PieceImpl: ti.Piece(p), t: vt, p: p}
		}
	}
	return out, nil
}

// Close closes the wrapped storage when it can be closed.
func (s *verifyingStorage) Close() error {
	if c, ok := s.inner.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// verifyingTorrent is one opened torrent.
type verifyingTorrent struct {
	s    *verifyingStorage
	ih   metainfo.Hash
	info *metainfo.Info
	dir  string

	mu       sync.Mutex
	rescued  map[int][]byte
	reported bool
}

// check hashes piece p unless the trust vouches for it (it hashed correctly
// before and its files did not change since). For a piece that fails it
// returns the good bytes read from another replica, or an error when there
// are none.
func (t *verifyingTorrent) check(p metainfo.Piece, pi storage.PieceImpl) ([]byte, error) {
	i := p.Index()
	t.mu.Lock()
	good := t.rescued[i]
	t.mu.Unlock()
	if good != nil {
		return good, nil
	}
	err := t.s.trust.Verify(t.s.volume, t.ih, t.dir, t.info, i, func() error { return hashPiece(p, pi) })
	if err == nil {
		return nil, nil
	}
	if t.s.rescue != nil {
		good = t.s.rescue(t.ih, t.info, i)
	}
	t.mu.Lock()
	if good != nil && len(t.rescued) < maxRescued {
		if t.rescued == nil {
			t.rescued = map[int][]byte{}
		}
		t.rescued[i] = good
	} else {
		good = nil
	}
	first := !t.reported
	t.reported = true
	t.mu.Unlock()
	if first && t.s.onBad != nil {
		t.s.onBad(t.ih, t.info, i, good != nil, err)
	}
	if good != nil {
		return good, nil
	}
	pi.MarkNotComplete()
	return nil, fmt.Errorf("piece %d of %s: %w", i, t.ih.HexString(), err)
}

// hashPiece reads piece p whole and compares its SHA-1 with the info dict.
func hashPiece(p metainfo.Piece, pi storage.PieceImpl) error {
	want := p.V1Hash()
	if !want.Ok {
		return nil // no v1 hash to check against (never for our torrents)
	}
	h := sha1.New()
	n, err := copyPieceTo(h, p, pi)
	if err != nil {
		return fmt.Errorf("read piece: %w", err)
	}
	if n != p.Length() {
		return fmt.Errorf("read piece: %d of %d bytes: %w", n, p.Length(), io.ErrUnexpectedEOF)
	}
	var got metainfo.Hash
	h.Sum(got[:0])
	if got != want.Value {
		return ErrPieceCorrupt
	}
	return nil
}

func copyPieceTo(w io.Writer, p metainfo.Piece, pi storage.PieceImpl) (int64, error) {
	if wt, ok := pi.(io.WriterTo); ok {
		return wt.WriteTo(w)
	}
	return io.Copy(w, io.NewSectionReader(pi, 0, p.Length()))
}

// verifyingPiece serves a piece only after check passed.
type verifyingPiece struct {
	storage.PieceImpl
	t *verifyingTorrent
	p metainfo.Piece
}

// ReadAt serves piece data once the piece hashed correctly, or the good
// copy of it found on another replica.
func (vp *verifyingPiece) ReadAt(b []byte, off int64) (int, error) {
	good, err := vp.t.check(vp.p, vp.PieceImpl)
	if err != nil {
		return 0, err
	}
	if good == nil {
		return vp.PieceImpl.ReadAt(b, off)
	}
	if off >= int64(len(good)) {
		return 0, io.EOF
	}
	n := copy(b, good[off:])
	if n < len(b) {
		return n, io.EOF
	}
	return n, nil
}

// WriteTo is how anacrolix hashes a piece it downloaded: it reads the
// wrapped piece as is (anacrolix compares the hash itself).
func (vp *verifyingPiece) WriteTo(w io.Writer) (int64, error) {
	return copyPieceTo(w, vp.p, vp.PieceImpl)
}
