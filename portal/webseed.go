package portal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
	"github.com/labstack/echo/v4"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/seedbox"
)

// webseed serves torrent content over HTTP with Range support for BEP 19
// clients: /webseed/<passkey>/<infohash>/<name>[/<path>]. The passkey must
// belong to an enabled user.
func (a *App) webseed(c echo.Context) error {
	pk, ih := c.Param("passkey"), strings.ToLower(c.Param("ih"))
	if a.opts.Passkeys == nil || !a.opts.Passkeys.Valid(pk) {
		return echo.NewHTTPError(http.StatusForbidden, "unknown or revoked passkey")
	}
	t, err := a.findTorrent(c.Request().Context(), ih)
	if err != nil {
		return err
	}
	if t.State == "purged" {
		return echo.NewHTTPError(http.StatusGone, "this torrent's data was purged from the seedbox")
	}
	// The decoded path after /webseed/<passkey>/<infohash>/.
	rel := strings.TrimPrefix(c.Request().URL.Path, "/webseed/"+pk+"/"+c.Param("ih")+"/")
	if !a.torrentHasPath(t.Name, t.SingleFile, t.Files, rel) {
		return echo.NewHTTPError(http.StatusNotFound, "no such file in this torrent")
	}
	info, err := a.infoOf(c, t)
	if err != nil {
		return err
	}
	fileOff, fileLen, ok := fileSpanOf(info, rel, t.SingleFile)
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "no such file in this torrent")
	}
	reps, err := a.localReplicas(c, t.ID)
	if err != nil {
		return err
	}
	var hash metainfo.Hash
	if err := hash.FromHexString(ih); err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, "bad info hash")
	}
	// The range asked for, bounded: the rest is verified as it is read.
	lo, hi := requestedSpan(c.Request().Header.Get("Range"), fileLen)
	hi = min(hi, lo+preVerify)
	rv := a.rangeVerifier()
	for _, r := range reps {
		dir := r.dir(ih)
		err := rv.VerifyRange(r.volume, dir, hash, info, fileOff+lo, hi-lo)
		if err != nil {
			a.log.Warn("web seed: replica failed verification, trying another", "info_hash", ih,
				"volume", r.volume, "err", err)
			continue
		}
		return a.serveVerified(c, filepath.Join(dir, filepath.FromSlash(rel)), func(off, n int64) error {
			return rv.VerifyRange(r.volume, dir, hash, info, fileOff+off, n)
		})
	}
	return echo.NewHTTPError(http.StatusServiceUnavailable, "no verified copy of this torrent on this node")
}

// preVerify is how much of a requested range is verified before the
// response starts, so a corrupt replica is answered with a clean error (or
// served from another replica). Beyond it, pieces are verified as they are
// read, and a bad one ends the response early: it is never sent.
const preVerify = 64 << 20

// serveVerified serves the file at path with Range support (RFC 9110),
// checking each byte range with verify before it is read.
func (a *App) serveVerified(c echo.Context, path string, verify func(off, n int64) error) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return echo.NewHTTPError(http.StatusServiceUnavailable, "content is not on this node")
		}
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	c.Response().Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(c.Response(), c.Request(), "", fi.ModTime(), &verifiedFile{f: f, verify: verify})
	return nil
}

// verifiedFile reads a file of a replica only after verify passed for the
// bytes about to be read.
type verifiedFile struct {
	f      *os.File
	pos    int64
	verify func(off, n int64) error
}

func (v *verifiedFile) Read(p []byte) (int, error) {
	if err := v.verify(v.pos, int64(len(p))); err != nil {
		return 0, err
	}
	n, err := v.f.Read(p)
	v.pos += int64(n)
	return n, err
}

func (v *verifiedFile) Seek(off int64, whence int) (int64, error) {
	pos, err := v.f.Seek(off, whence)
	if err == nil {
		v.pos = pos
	}
	return pos, err
}

// requestedSpan returns the bytes [lo, hi) of a file of size bytes that a
// Range header asks for: the span from the first range's start to the last
// one's end, or the whole file without (or with an unparsable) header.
func requestedSpan(h string, size int64) (lo, hi int64) {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok {
		return 0, size
	}
	lo, hi = size, 0
	for _, r := range strings.Split(spec, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(r), "-")
		if !ok {
			return 0, size
		}
		start, errA := strconv.ParseInt(a, 10, 64)
		end, errB := strconv.ParseInt(b, 10, 64)
		switch {
		case a == "" && errB == nil: // the last b bytes
			start, end = max(size-end, 0), size-1
		case errA == nil && b == "":
			end = size - 1
		case errA != nil || errB != nil:
			return 0, size
		}
		lo, hi = min(lo, max(start, 0)), max(hi, min(end+1, size))
	}
	if lo >= hi {
		return 0, 0
	}
	return lo, hi
}

// infoOf returns the torrent's info dict.
func (a *App) infoOf(c echo.Context, t *catalog.Torrent) (*metainfo.Info, error) {
	b := t.InfoBytes
	if len(b) == 0 {
		var err error
		if b, err = a.opts.Catalog.InfoBytes(c.Request().Context(), t.InfoHash); err != nil {
			return nil, err
		}
	}
	var info metainfo.Info
	if err := bencode.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("info dict of %s: %w", t.InfoHash, err)
	}
	return &info, nil
}

// fileSpanOf returns where the file at rel (as torrentHasPath accepts it)
// lies in the torrent's byte stream (BEP 3: files concatenated in order).
func fileSpanOf(info *metainfo.Info, rel string, single bool) (off, length int64, ok bool) {
	if single || len(info.Files) == 0 {
		return 0, info.TotalLength(), true
	}
	for _, f := range info.UpvertedFiles() {
		if info.Name+"/"+strings.Join(f.BestPath(), "/") == rel {
			return off, f.Length, true
		}
		off += f.Length
	}
	return 0, 0, false
}

// torrentHasPath accepts exactly the URLs BEP 19 clients build: the name of
// a single-file torrent, or name/path of a file of a multi-file torrent.
func (a *App) torrentHasPath(name string, single bool, files []catalog.File, rel string) bool {
	if single {
		return rel == name
	}
	p, ok := strings.CutPrefix(rel, name+"/")
	if !ok {
		return false
	}
	for _, f := range files {
		if f.Path == p {
			return true
		}
	}
	return false
}

// localReplica is a verified replica on one of this node's readable
// volumes.
type localReplica struct {
	volume string
	vol    seedbox.Volume
}

func (r localReplica) dir(ih string) string { return r.vol.TorrentDir(ih) }

// localReplicas lists the verified replicas of the torrent on this node's
// readable volumes, or answers 503 when there is none.
func (a *App) localReplicas(c echo.Context, torrentID uint64) ([]localReplica, error) {
	reps, err := a.opts.Catalog.ReplicasOf(c.Request().Context(), torrentID)
	if err != nil {
		return nil, err
	}
	var out []localReplica
	for _, r := range reps {
		if r.State != "verified" || r.Node != a.opts.Node {
			continue
		}
		v, ok := a.opts.Volumes.ByName(r.VolumeName)
		if !ok || !a.opts.Volumes.Readable(r.VolumeName) {
			continue // not here, or in maintenance: never read
		}
		out = append(out, localReplica{volume: r.VolumeName, vol: v})
	}
	if len(out) == 0 {
		return nil, echo.NewHTTPError(http.StatusServiceUnavailable, "no verified copy of this torrent on this node")
	}
	return out, nil
}

// webseedTrust is the web seed's record of verified pieces when no seeder
// runs in this process (seedbed portal alone); otherwise the seeder's
// Checker's is shared.
var webseedTrust = sync.OnceValue(func() *seedbox.PieceTrust { return seedbox.NewPieceTrust(0) })

// rangeVerifier verifies what the web seed serves: with the Checker of this
// node's seeder when there is one (shared trust; a bad replica is marked
// corrupt, dropped by the seeder and repaired), else on its own, marking a
// bad replica corrupt in the catalog.
func (a *App) rangeVerifier() *seedbox.RangeVerifier {
	if a.opts.Checker != nil {
		return a.opts.Checker.RangeVerifier()
	}
	return &seedbox.RangeVerifier{Trust: webseedTrust(), Report: func(volume, ih string, _ seedbox.Result) {
		v, ok := a.opts.Volumes.ByName(volume)
		if !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := a.opts.Catalog.SetReplicaStateByHash(ctx, ih, v.ID, a.opts.Node, seedbox.ReplicaCorrupt); err != nil {
			a.log.Error("web seed: mark replica corrupt", "info_hash", ih, "volume", volume, "err", err)
		}
	}}
}
