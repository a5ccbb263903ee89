package seedbox

import (
	"container/list"
	"sort"
	"sync"
	"time"

	"github.com/anacrolix/torrent/metainfo"
)

// PieceTrust remembers which pieces of which replicas hashed correctly when
// they were read for serving, so a piece is hashed once, not once per peer
// or per request: the BitTorrent seeder and the web seed share one, so a
// piece verified by one is trusted by the other. A piece stays trusted until
// a file it lies in changes (size, modification time, change time or inode:
// any write, truncation, replacement or touch) or the replica is reported
// bad (Forget; the scrub and both serving paths report). A changed file is
// noticed within restatEvery. Bit rot that changes no metadata is the
// scrub's to find, as it is for pieces nobody reads.
//
// Memory is bounded: entries (one per replica: a bit per piece and a stamp
// per file) are evicted least recently used beyond maxBytes.
type PieceTrust struct {
	maxBytes int

	mu    sync.Mutex
	used  int
	lru   *list.List // of *trustEntry, most recently used first
	byKey map[trustKey]*list.Element
	now   func() time.Time
}

// restatEvery is how often the files under a trusted piece are looked at
// again: at most once per file per interval, not on every 16 KiB block.
const restatEvery = time.Second

// DefaultTrustBytes bounds a PieceTrust. A one-file torrent of 1 GiB with
// 256 KiB pieces takes under 1 KiB, so this holds some 40,000 of them.
const DefaultTrustBytes = 32 << 20

type trustKey struct {
	volume string
	ih     metainfo.Hash
}

type trustEntry struct {
	key   trustKey
	dir   string
	files []fileSpan
	stamp []trustStamp // by file: what it was when its pieces were trusted
	seen  []int64      // by file: unix nanoseconds of the last look
	good  []uint64     // bit per piece
	gen   uint64       // bumped when a file changed: hashes begun before do not count
	size  int
}

// NewPieceTrust returns an empty trust bounded to about maxBytes of memory
// (DefaultTrustBytes when maxBytes <= 0).
func NewPieceTrust(maxBytes int) *PieceTrust {
	if maxBytes <= 0 {
		maxBytes = DefaultTrustBytes
	}
	return &PieceTrust{maxBytes: maxBytes, lru: list.New(), byKey: map[trustKey]*list.Element{}, now: time.Now}
}

// Verify makes sure piece of the replica on volume (stored in dir) matches
// its hash: it returns nil at once for a trusted piece whose files did not
// change, and otherwise calls hash, trusting the piece if it returns nil.
// The files are looked at before hashing, so a change during the hash is
// seen at the next call.
func (pt *PieceTrust) Verify(volume string, ih metainfo.Hash, dir string, info *metainfo.Info, piece int, hash func() error) error {
	e, gen, ok := pt.trusted(volume, ih, dir, info, piece)
	if ok {
		return nil
	}
	if err := hash(); err != nil {
		return err
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	// Only if no file changed since they were looked at before the hash.
	if el, ok := pt.byKey[trustKey{volume, ih}]; ok && el.Value.(*trustEntry) == e && e.gen == gen {
		e.good[piece/64] |= 1 << (piece % 64)
	}
	return nil
}

// trusted tells whether piece is trusted, after looking again at its files
// if they were not looked at for restatEvery; a changed file distrusts
// every piece of the replica and records the new stamps.
func (pt *PieceTrust) trusted(volume string, ih metainfo.Hash, dir string, info *metainfo.Info, piece int) (_ *trustEntry, gen uint64, ok bool) {
	key := trustKey{volume, ih}
	now := pt.now().UnixNano()
	pt.mu.Lock()
	e := pt.entry(key, dir, info)
	lo, hi := e.filesOf(info, piece)
	var stale []int
	for i := lo; i < hi; i++ {
		if now-e.seen[i] >= int64(restatEvery) {
			stale = append(stale, i)
		}
	}
	good, gen := e.good[piece/64]&(1<<(piece%64)) != 0, e.gen
	pt.mu.Unlock()
	if len(stale) == 0 {
		return e, gen, good
	}
	stamps := make([]trustStamp, len(stale))
	for j, i := range stale {
		stamps[j] = stampFile(e.files[i].path)
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if cur, ok := pt.byKey[key]; !ok || cur.Value.(*trustEntry) != e {
		return e, 0, false // evicted or forgotten meanwhile: gen 0 is never current
	}
	for j, i := range stale {
		// A file looked at for the first time has no trusted pieces yet.
		if e.seen[i] != 0 && stamps[j] != e.stamp[i] {
			clear(e.good)
			e.gen++
		}
		e.stamp[i], e.seen[i] = stamps[j], now
	}
	return e, e.gen, e.good[piece/64]&(1<<(piece%64)) != 0
}

// entry returns the entry of key, made if missing (or if its replica moved
// to another folder) and marked most recently used. pt.mu is held.
func (pt *PieceTrust) entry(key trustKey, dir string, info *metainfo.Info) *trustEntry {
	if el, ok := pt.byKey[key]; ok {
		e := el.Value.(*trustEntry)
		if e.dir == dir && len(e.good)*64 >= info.NumPieces() {
			pt.lru.MoveToFront(el)
			return e
		}
		pt.remove(el)
	}
	files := torrentFiles(dir, info)
	e := &trustEntry{key: key, dir: dir, files: files,
		stamp: make([]trustStamp, len(files)), seen: make([]int64, len(files)),
		good: make([]uint64, (info.NumPieces()+63)/64), gen: 1}
	e.size = 128 + 8*len(e.good)
	for _, f := range files {
		e.size += len(f.path) + 80
	}
	pt.byKey[key] = pt.lru.PushFront(e)
	pt.used += e.size
	for pt.used > pt.maxBytes && pt.lru.Len() > 1 {
		pt.remove(pt.lru.Back())
	}
	return e
}

func (pt *PieceTrust) remove(el *list.Element) {
	e := el.Value.(*trustEntry)
	pt.lru.Remove(el)
	delete(pt.byKey, e.key)
	pt.used -= e.size
}

// Forget distrusts every piece of the replica of ih on volume.
func (pt *PieceTrust) Forget(volume string, ih metainfo.Hash) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if el, ok := pt.byKey[trustKey{volume, ih}]; ok {
		pt.remove(el)
	}
}

// Bytes is the memory the trust accounts for.
func (pt *PieceTrust) Bytes() int {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	return pt.used
}

// filesOf returns the range [lo, hi) of e.files holding bytes of piece.
func (e *trustEntry) filesOf(info *metainfo.Info, piece int) (lo, hi int) {
	start := int64(piece) * info.PieceLength
	end := min(start+info.PieceLength, info.TotalLength())
	lo = sort.Search(len(e.files), func(i int) bool { return e.files[i].offset+e.files[i].length > start })
	hi = lo
	for hi < len(e.files) && e.files[hi].offset < end {
		hi++
	}
	return lo, hi
}
