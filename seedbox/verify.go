package seedbox

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"

	"github.com/anacrolix/torrent/metainfo"
	"golang.org/x/time/rate"
)

// fileSpan is one file of a torrent inside a replica folder, placed where the
// anacrolix file storage puts it: <dir>/<name>[/<path>...].
type fileSpan struct {
	path   string
	offset int64 // in the torrent's byte stream (BEP 3: files concatenated in order)
	length int64
}

// torrentFiles lists the files of info under the replica folder dir.
func torrentFiles(dir string, info *metainfo.Info) []fileSpan {
	var out []fileSpan
	var off int64
	for fi := range info.UpvertedV1Files() {
		parts := []string{dir}
		if info.BestName() != metainfo.NoName {
			parts = append(parts, info.BestName())
		}
		out = append(out, fileSpan{path: filepath.Join(append(parts, fi.BestPath()...)...), offset: off, length: fi.Length})
		off += fi.Length
	}
	return out
}

// Result is what a verification found.
type Result struct {
	Pieces int   // pieces checked
	Bytes  int64 // bytes read
	Bad    []int // indices of pieces whose SHA-1 did not match, ascending
	// Damaged is set when a file was missing, unreadable or of the wrong
	// size: fixing it means copying the files, not patching pieces.
	Damaged bool
}

// OK tells whether every piece matched.
func (r Result) OK() bool { return len(r.Bad) == 0 && !r.Damaged }

// Verifier checks a replica's pieces against the SHA-1 hashes of its info
// dict (BEP 3). It reads the files sequentially in large chunks on the
// calling goroutine and hashes pieces on worker goroutines, so one replica is
// read at disk speed and hashed on every core.
//
// ingest.Hasher hashes a stream as it is written (copying it into piece
// buffers and computing an MD5 on the way); a verifier reads straight into
// its piece buffers instead and only compares, which is why it has its own
// small loop.
type Verifier struct {
	Workers  int           // hashing goroutines; 0 means GOMAXPROCS
	Limiter  *rate.Limiter // read rate cap in bytes per second; nil is uncapped
	Progress func(n int64) // called with the bytes of each chunk read; may be nil
}

// chunkTarget is the size of one read: whole pieces, at least this much.
const chunkTarget = 4 << 20

// Verify hashes every piece of the replica of info stored in dir.
func (v *Verifier) Verify(ctx context.Context, dir string, info *metainfo.Info) (Result, error) {
	return v.run(ctx, torrentFiles(dir, info), info, nil)
}

type hashJob struct {
	first int // index of the first piece in buf
	buf   *[]byte
	n     int
}

// run streams the files through the hashers; sink, when set, receives every
// chunk (in order, before it is hashed) at its offset in the stream.
func (v *Verifier) run(ctx context.Context, files []fileSpan, info *metainfo.Info, sink func(off int64, b []byte) error) (Result, error) {
	pl := info.PieceLength
	res := Result{Pieces: info.NumPieces()}
	if pl <= 0 {
		return res, errors.New("verify: info dict has no piece length")
	}
	if len(info.Pieces) != 20*res.Pieces {
		return res, fmt.Errorf("verify: info dict has %d piece hash bytes for %d pieces", len(info.Pieces), res.Pieces)
	}
	workers := v.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	total := info.TotalLength()
	// Whole pieces per read, no more than the torrent holds: a small
	// torrent must not pay for big buffers.
	chunk := min(max(1, chunkTarget/pl), max(1, (total+pl-1)/pl)) * pl
	nbuf := int(min(int64(2*workers+1), max(1, (total+chunk-1)/chunk)))
	workers = min(workers, nbuf)
	jobs := make(chan hashJob, workers)
	free := make(chan *[]byte, nbuf)
	for range nbuf {
		b := make([]byte, chunk)
		free <- &b
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for j := range jobs {
				bad := hashChunk(info, pl, j)
				free <- j.buf
				if len(bad) > 0 {
					mu.Lock()
					res.Bad = append(res.Bad, bad...)
					mu.Unlock()
				}
			}
		})
	}
	r := &spanReader{files: files}
	err := v.feed(ctx, r, total, pl, chunk, jobs, free, sink)
	close(jobs)
	wg.Wait()
	r.close()
	res.Bytes = r.read
	for _, s := range r.bad {
		res.Damaged = true
		for i := s[0] / pl; i*pl < s[1]; i++ {
			res.Bad = append(res.Bad, int(i))
		}
	}
	for _, f := range files {
		if f.length != 0 {
			continue
		}
		if fi, err := os.Stat(f.path); err != nil || !fi.Mode().IsRegular() || fi.Size() != 0 {
			res.Damaged = true
		}
	}
	slices.Sort(res.Bad)
	res.Bad = slices.Compact(res.Bad)
	return res, err
}

func (v *Verifier) feed(ctx context.Context, r *spanReader, total, pl, chunk int64, jobs chan<- hashJob, free chan *[]byte, sink func(int64, []byte) error) error {
	for off := int64(0); off < total; off += chunk {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := int(min(chunk, total-off))
		if err := v.wait(ctx, n); err != nil {
			return err
		}
		buf := <-free
		if err := r.readFull((*buf)[:n]); err != nil {
			free <- buf
			return err
		}
		if sink != nil {
			if err := sink(off, (*buf)[:n]); err != nil {
				free <- buf
				return err
			}
		}
		if v.Progress != nil {
			v.Progress(int64(n))
		}
		jobs <- hashJob{first: int(off / pl), buf: buf, n: n}
	}
	return nil
}

// wait blocks until the rate cap allows reading n more bytes.
func (v *Verifier) wait(ctx context.Context, n int) error {
	if v.Limiter == nil || v.Limiter.Limit() == rate.Inf {
		return nil
	}
	for n > 0 {
		step := min(n, max(v.Limiter.Burst(), 1))
		if err := v.Limiter.WaitN(ctx, step); err != nil {
			return fmt.Errorf("verify: %w", err)
		}
		n -= step
	}
	return nil
}

// hashChunk returns the indices of the pieces in j that do not match.
func hashChunk(info *metainfo.Info, pl int64, j hashJob) []int {
	var bad []int
	b := (*j.buf)[:j.n]
	for i := 0; len(b) > 0; i++ {
		k := int(min(pl, int64(len(b))))
		sum := sha1.Sum(b[:k])
		idx := j.first + i
		if !bytes.Equal(sum[:], info.Pieces[idx*20:idx*20+20]) {
			bad = append(bad, idx)
		}
		b = b[k:]
	}
	return bad
}

// spanReader reads the concatenated files of a torrent. A missing, short,
// oversized or unreadable file reads as zeros and is recorded in bad, so
// its pieces fail even when the content happens to be zeros.
type spanReader struct {
	files []fileSpan
	idx   int
	pos   int64 // within files[idx]
	f     *os.File
	fail  bool // files[idx] is unusable
	bad   [][2]int64
	read  int64
}

func (r *spanReader) readFull(buf []byte) error {
	for len(buf) > 0 {
		if r.idx >= len(r.files) {
			return errors.New("verify: read past the last file")
		}
		cur := r.files[r.idx]
		remain := cur.length - r.pos
		if remain == 0 {
			r.next()
			continue
		}
		if r.f == nil && !r.fail {
			r.open(cur)
		}
		n := int(min(int64(len(buf)), remain))
		if !r.fail {
			got, err := io.ReadFull(r.f, buf[:n])
			if err != nil {
				r.markBad(cur)
				clear(buf[got:n])
			}
		} else {
			clear(buf[:n])
		}
		r.pos += int64(n)
		r.read += int64(n)
		buf = buf[n:]
	}
	return nil
}

func (r *spanReader) open(cur fileSpan) {
	f, err := os.Open(cur.path)
	if err != nil {
		r.markBad(cur)
		return
	}
	if fi, err := f.Stat(); err != nil || fi.Size() != cur.length || !fi.Mode().IsRegular() {
		f.Close()
		r.markBad(cur)
		return
	}
	r.f = f
}

func (r *spanReader) markBad(cur fileSpan) {
	if !r.fail {
		r.bad = append(r.bad, [2]int64{cur.offset, cur.offset + cur.length})
	}
	r.fail = true
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}

func (r *spanReader) next() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	r.idx, r.pos, r.fail = r.idx+1, 0, false
}

func (r *spanReader) close() {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
}
