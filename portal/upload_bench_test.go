package portal

import (
	"io"
	"mime/multipart"
	"net/http"
	"testing"
)

// BenchmarkUploadMultipart measures the whole receive path of
// POST /api/v1/torrents over loopback: multipart parsing, staging to disk,
// hashing and the catalog commit.
func BenchmarkUploadMultipart(b *testing.B) {
	const size = 256 << 20
	h := newHarness(b)
	chunk := make([]byte, 1<<20)
	client := &http.Client{Transport: &http.Transport{WriteBufferSize: 1 << 20}}
	b.SetBytes(size)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			w, _ := mw.CreateFormFile("file", "bench.bin")
			for j := 0; j < size>>20; j++ {
				chunk[0], chunk[1] = byte(i), byte(j) // unique content: no dedupe
				w.Write(chunk)
			}
			mw.Close()
			pw.Close()
		}()
		req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/torrents", pr)
		req.Header.Set("Authorization", "Bearer "+h.token)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			b.Fatalf("HTTP %d", resp.StatusCode)
		}
	}
}
