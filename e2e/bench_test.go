package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// benchSize is the payload of the side-by-side comparisons: 1 GiB under
// `make bench` (SEEDBED_BENCH=1), small under `make test` so they never rot.
func benchSize() int64 {
	if mib, err := strconv.ParseInt(os.Getenv("SEEDBED_BENCH_MIB"), 10, 64); err == nil && mib > 0 {
		return mib << 20
	}
	if os.Getenv("SEEDBED_BENCH") == "1" {
		return 1 << 30
	}
	return 48 << 20
}

func benchRounds() int {
	if os.Getenv("SEEDBED_BENCH") == "1" {
		return 7
	}
	return 1
}

// writeRandomFile makes a file of size random bytes.
func writeRandomFile(t *testing.T, dir, name string, size int64) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := randomBytes(8<<20, 42)
	for left := size; left > 0; {
		n := min(left, int64(len(chunk)))
		f.Write(chunk[:n])
		chunk[0]++ // every chunk differs, so pieces differ
		left -= n
	}
	return p
}

// uploadClient writes request bodies in large chunks, as browsers and curl
// do; both sides of every comparison use it.
var uploadClient = &http.Client{Transport: &http.Transport{WriteBufferSize: 1 << 20, DisableCompression: true}}

// uploadTiming streams a file as one multipart upload and reports the whole
// duration and the time from the last body byte to the reply.
type uploadTiming struct{ total, afterLastByte time.Duration }

func timedUpload(t *testing.T, url, token, path string) (uploadTiming, []byte) {
	t.Helper()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	var lastByte time.Time
	go func() {
		f, _ := os.Open(path)
		defer f.Close()
		part, _ := mw.CreateFormFile("file", filepath.Base(path))
		io.CopyBuffer(part, f, make([]byte, 1<<20))
		mw.Close()
		lastByte = time.Now()
		pw.Close()
	}()
	fi, _ := os.Stat(path)
	req, _ := http.NewRequest("POST", url, pr)
	req.ContentLength = multipartOverhead(mw.Boundary(), filepath.Base(path)) + fi.Size()
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	start := time.Now()
	resp, err := uploadClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	done := time.Now()
	if resp.StatusCode >= 300 {
		t.Fatalf("upload: HTTP %d %s", resp.StatusCode, body)
	}
	return uploadTiming{total: done.Sub(start), afterLastByte: done.Sub(lastByte)}, body
}

// multipartOverhead is the size of a one-file multipart body minus the file,
// so uploads carry an exact Content-Length as browsers and curl send.
func multipartOverhead(boundary, name string) int64 {
	var c countWriter
	mw := multipart.NewWriter(&c)
	mw.SetBoundary(boundary)
	mw.CreateFormFile("file", name)
	mw.Close()
	return int64(c)
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) { *c += countWriter(len(p)); return len(p), nil }

// plainSink is the "usual way" baseline: an HTTP server that writes the
// uploaded part to a file and nothing else.
func plainSink(t *testing.T, dir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A plain sink done well with the standard library: large socket
		// reads and 1 MiB file writes.
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		mr := multipart.NewReader(bufio.NewReaderSize(r.Body, 1<<20), params["boundary"])
		part, err := mr.NextPart()
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		f, _ := os.Create(filepath.Join(dir, "sink.bin"))
		bw := bufio.NewWriterSize(f, 1<<20)
		io.Copy(bw, part)
		bw.Flush()
		f.Close()
		w.WriteHeader(201)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String() + "/"
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// TestBenchUploadToSeedLink compares our upload-to-seed-link time with the
// usual two steps: upload to a plain file sink, then mktorrent.
//
// Both sides get the same memory: each frees its stored file right after its
// step (seedbed through the API's delete, the sink by removing it), and the
// two alternate which goes first. On a VM with free page reporting, writing
// into memory the guest has not touched lately costs about 2.5 s per GiB
// (docs/performance.md); without this, whichever side kept its file paid it
// and the other did not.
func TestBenchUploadToSeedLink(t *testing.T) {
	mktorrent := needTool(t, "mktorrent", "mktorrent")
	size := benchSize()
	n := startNode(t, nodeOptions{})
	token := n.addUser("bench", false)
	work := t.TempDir()
	sinkURL := plainSink(t, work)
	pieceExp := strconv.Itoa(pieceExponent(size))
	var ours, tail, base, sinkOnly []time.Duration
	seedbed := func(src string) {
		tm, body := timedUpload(t, n.url+"/api/v1/torrents", token, src)
		ours, tail = append(ours, tm.total), append(tail, tm.afterLastByte)
		var obj torrentObject
		if err := json.Unmarshal(body, &obj); err != nil || obj.InfoHash == "" {
			t.Fatalf("upload reply %s: %v", body, err)
		}
		if code := apiDelete(t, n, token, obj.InfoHash); code != http.StatusNoContent {
			t.Fatalf("delete %s: HTTP %d", obj.InfoHash, code)
		}
		waitFor(t, 30*time.Second, "deleted upload removed from disk", func() bool {
			return !dirNamedUnder(filepath.Join(n.dir, "data"), obj.InfoHash)
		})
	}
	sink := func(src string) {
		start := time.Now()
		timedUpload(t, sinkURL, "", src)
		sinkOnly = append(sinkOnly, time.Since(start))
		out := filepath.Join(work, "out.torrent")
		os.Remove(out)
		runTool(t, mktorrent, "-p", "-l", pieceExp, "-a", "http://127.0.0.1/announce", "-o", out, filepath.Join(work, "sink.bin"))
		base = append(base, time.Since(start))
		os.Remove(filepath.Join(work, "sink.bin"))
	}
	for i := range benchRounds() {
		src := writeRandomFile(t, work, fmt.Sprintf("src-%d.bin", i), size)
		if i%2 == 0 {
			seedbed(src)
			sink(src)
		} else {
			sink(src)
			seedbed(src)
		}
		os.Remove(src)
	}
	report(t, "upload-to-seed-link", size, map[string]time.Duration{
		"seedbed (upload, hashed while receiving)": median(ours),
		"plain sink + mktorrent":                   median(base),
		"plain sink alone (no hashing)":            median(sinkOnly),
		"seedbed last byte -> seed link":           median(tail),
	}, fmt.Sprintf("ratio seedbed / (sink + mktorrent) = %.2f", float64(median(ours))/float64(median(base))))
}

// dirNamedUnder reports whether a directory called name exists below root.
func dirNamedUnder(root, name string) bool {
	found := false
	filepath.WalkDir(root, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == name {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

// pieceExponent is log2 of the piece length ingest picks, so mktorrent hashes
// the same number of pieces.
func pieceExponent(size int64) int {
	exp := 14
	for pieces := size >> 14; pieces >= 2048; pieces >>= 1 {
		exp++
	}
	return exp
}

func report(t *testing.T, name string, size int64, rows map[string]time.Duration, summary string) {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s, %d MiB, median of %d:\n", name, size>>20, benchRounds())
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  %-45s %8.3fs  %7.1f MiB/s\n", k, rows[k].Seconds(), float64(size)/(1<<20)/rows[k].Seconds())
	}
	fmt.Fprintf(&b, "  %s\n", summary)
	t.Log(b.String())
}
