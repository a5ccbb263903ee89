package seedbox

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

// DropFrom stops seeding a torrent if it is served from volume (whose copy
// turned out bad) and makes the next sync pick another replica at once.
func (s *Seeder) DropFrom(infoHash, volume string) {
	var ih metainfo.Hash
	if ih.FromHexString(infoHash) != nil {
		return
	}
	unlock := s.locks.lock(ih)
	s.mu.Lock()
	sd, ok := s.torrents[ih]
	s.mu.Unlock()
	if ok && sd.volume == volume {
		s.log.Warn("stopped serving a bad replica", "info_hash", infoHash, "volume", volume)
		s.drop(ih, true)
	}
	unlock()
	s.Kick()
}

// servedPieceBad handles a piece the seeder would not serve from volume
// because it no longer matched its hash (or could not be read): the replica
// is reported bad at once (the Replicator marks it corrupt and repairs it
// from a good one) and the seeder stops serving it, so the next sync serves
// the torrent from another replica. Peers never receive the bad piece: it
// was served from a good replica (rescued) or refused.
func (s *Seeder) servedPieceBad(volume, infoHash string, info *metainfo.Info, piece int, rescued bool, err error) {
	s.log.Warn("a piece failed verification when read for a peer", "info_hash", infoHash,
		"volume", volume, "piece", piece, "served_from_another_replica", rescued, "err", err)
	if !rescued {
		// The peer's request fails; anacrolix v1.61 panics when it
		// handles a failed read of a torrent that was closed meanwhile,
		// so let it finish before the torrent is dropped.
		time.Sleep(time.Second)
	}
	res := Result{Pieces: info.NumPieces(), Bad: []int{piece}}
	if !errors.Is(err, ErrPieceCorrupt) {
		res = Result{Pieces: info.NumPieces(), Damaged: true}
	}
	if s.opts.Checker != nil {
		s.opts.Checker.Report(volume, infoHash, res)
	}
	s.DropFrom(infoHash, volume)
}

// pieceElsewhere reads a piece from the replicas of the torrent on this
// node's other readable volumes and returns the first copy that matches its
// hash, or nil.
func (s *Seeder) pieceElsewhere(volume, infoHash string, info *metainfo.Info, piece int) []byte {
	off := int64(piece) * info.PieceLength
	if piece < 0 || piece >= info.NumPieces() {
		return nil
	}
	buf := make([]byte, min(info.PieceLength, info.TotalLength()-off))
	want := info.Pieces[piece*20 : piece*20+20]
	for _, v := range s.vols.List() {
		if v.Name == volume || v.State == StateMaintenance {
			continue
		}
		files := torrentFiles(v.TorrentDir(infoHash), info)
		fds := make([]*os.File, len(files))
		err := readPiece(files, fds, off, buf)
		for _, f := range fds {
			if f != nil {
				f.Close()
			}
		}
		if sum := sha1.Sum(buf); err == nil && bytes.Equal(sum[:], want) {
			return buf
		}
	}
	return nil
}

// hashLocks is a mutex per infohash, made on demand and freed when unused.
type hashLocks struct {
	mu sync.Mutex
	m  map[metainfo.Hash]*hashLock
}

type hashLock struct {
	sync.Mutex
	users int
}

// lock locks ih and returns its unlock.
func (h *hashLocks) lock(ih metainfo.Hash) (unlock func()) {
	h.mu.Lock()
	if h.m == nil {
		h.m = map[metainfo.Hash]*hashLock{}
	}
	l := h.m[ih]
	if l == nil {
		l = &hashLock{}
		h.m[ih] = l
	}
	l.users++
	h.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		h.mu.Lock()
		if l.users--; l.users == 0 {
			delete(h.m, ih)
		}
		h.mu.Unlock()
	}
}
