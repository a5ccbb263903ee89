package seedbox

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"os"

	"github.com/anacrolix/torrent/metainfo"
)

// RangeVerifier lets a server outside anacrolix (the web seed, BEP 19)
// serve only verified bytes, like the seeder: every piece a range touches
// is hashed before any of it goes out, unless Trust vouches for it. Trust
// is the seeder's (Checker.Trust) when both run in one process, so a piece
// verified by one path is trusted by the other.
type RangeVerifier struct {
	Trust *PieceTrust
	// Report hears of a replica with a corrupt or unreadable piece, once
	// per VerifyRange that found one (Checker.Report: the replica is
	// marked corrupt, no longer seeded, and repaired). Nil: nobody hears.
	Report func(volume, infoHash string, res Result)
}

// RangeVerifier returns the verifier sharing the Checker's trust and
// reporting bad replicas the way the seeder does.
func (c *Checker) RangeVerifier() *RangeVerifier {
	return &RangeVerifier{Trust: c.trust, Report: c.Report}
}

// VerifyRange makes sure every piece of the replica on volume, stored in
// dir, that holds bytes of [off, off+n) of the torrent's byte stream (BEP 3:
// its files concatenated in order) matches its hash. A piece that does not
// is reported and ErrPieceCorrupt returned; a piece that cannot be read is
// reported as damage and its read error returned.
func (rv *RangeVerifier) VerifyRange(volume, dir string, ih metainfo.Hash, info *metainfo.Info, off, n int64) error {
	if n <= 0 || info.PieceLength <= 0 {
		return nil
	}
	files := torrentFiles(dir, info)
	fds := make([]*os.File, len(files))
	defer func() {
		for _, f := range fds {
			if f != nil {
				f.Close()
			}
		}
	}()
	var buf []byte
	first := int(off / info.PieceLength)
	last := int(min(off+n, info.TotalLength())-1) / int(info.PieceLength)
	for p := first; p <= last && p < info.NumPieces(); p++ {
		err := rv.Trust.Verify(volume, ih, dir, info, p, func() error {
			start := int64(p) * info.PieceLength
			size := min(info.PieceLength, info.TotalLength()-start)
			if int64(cap(buf)) < size {
				buf = make([]byte, size)
			}
			buf = buf[:size]
			if err := readPiece(files, fds, start, buf); err != nil {
				return fmt.Errorf("read piece %d: %w", p, err)
			}
			if sum := sha1.Sum(buf); !bytes.Equal(sum[:], info.Pieces[p*20:p*20+20]) {
				return ErrPieceCorrupt
			}
			return nil
		})
		if err == nil {
			continue
		}
		if rv.Report != nil {
			res := Result{Pieces: info.NumPieces(), Bad: []int{p}}
			if !errors.Is(err, ErrPieceCorrupt) {
				res = Result{Pieces: info.NumPieces(), Damaged: true}
			}
			rv.Report(volume, ih.HexString(), res)
		}
		return fmt.Errorf("piece %d of %s on %s: %w", p, ih.HexString(), volume, err)
	}
	return nil
}
