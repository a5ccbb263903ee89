package multipart

import (
	"bytes"
	"errors"
	"io"
	stdmp "mime/multipart"
	"strings"
	"testing"
	"testing/iotest"
)

type part struct {
	name, filename string
	data           []byte
}

func encode(t testing.TB, parts []part) ([]byte, string) {
	var buf bytes.Buffer
	w := stdmp.NewWriter(&buf)
	for _, p := range parts {
		var pw io.Writer
		var err error
		if p.filename != "" {
			pw, err = w.CreateFormFile(p.name, p.filename)
		} else {
			pw, err = w.CreateFormField(p.name)
		}
		if err != nil {
			t.Fatal(err)
		}
		pw.Write(p.data)
	}
	w.Close()
	return buf.Bytes(), w.Boundary()
}

// readAll parses body with our reader, reading parts through bufSize reads.
func readAll(body []byte, boundary string, src func(io.Reader) io.Reader, bufSize int) ([]part, error) {
	r, err := NewReader(src(bytes.NewReader(body)), boundary)
	if err != nil {
		return nil, err
	}
	var out []part
	for {
		p, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		var data bytes.Buffer
		buf := make([]byte, bufSize)
		for {
			n, err := p.Read(buf)
			data.Write(buf[:n])
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return out, err
			}
		}
		out = append(out, part{p.FormName(), p.FileName(), data.Bytes()})
	}
}

// readStd parses body with mime/multipart, the reference.
func readStd(body []byte, boundary string) ([]part, error) {
	r := stdmp.NewReader(bytes.NewReader(body), boundary)
	var out []part
	for {
		p, err := r.NextRawPart()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return out, err
		}
		fn := (&Part{Header: p.Header}).FileName()
		out = append(out, part{p.FormName(), fn, data})
	}
}

func same(a, b []part) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].name != b[i].name || a[i].filename != b[i].filename || !bytes.Equal(a[i].data, b[i].data) {
			return false
		}
	}
	return true
}

func TestRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 200_000) // 3.2 MB, several windows
	cases := map[string][]part{
		"fields and files": {{"title", "", []byte("Week 1")}, {"file", "pack/a b/ü.txt", []byte("hello")}, {"file", "pack/empty", nil}},
		"big file":         {{"file", "big.bin", big}, {"description", "", []byte("after the file")}},
		"near boundary":    {{"file", "x", []byte("\r\n--\r\n-\r\n--not-the-boundary\r\n")}, {"file", "y", []byte("\r")}},
		"no parts":         {},
	}
	for name, parts := range cases {
		t.Run(name, func(t *testing.T) {
			body, boundary := encode(t, parts)
			for _, src := range []struct {
				name string
				wrap func(io.Reader) io.Reader
				buf  int
			}{{"whole", func(r io.Reader) io.Reader { return r }, 1 << 20}, {"one byte", iotest.OneByteReader, 7}, {"half", iotest.HalfReader, 1}} {
				got, err := readAll(body, boundary, src.wrap, src.buf)
				if err != nil {
					t.Fatalf("%s: %v", src.name, err)
				}
				if len(parts) > 0 && !same(got, parts) {
					t.Fatalf("%s: parts differ", src.name)
				}
			}
		})
	}
}

func TestTruncatedAndMalformed(t *testing.T) {
	body, boundary := encode(t, []part{{"file", "a.bin", bytes.Repeat([]byte("x"), 5000)}})
	for _, cut := range []int{10, 200, len(body) - 10, len(body) - 3} {
		if _, err := readAll(body[:cut], boundary, func(r io.Reader) io.Reader { return r }, 4096); !errors.Is(err, ErrTruncated) {
			t.Errorf("cut at %d: %v, want ErrTruncated", cut, err)
		}
	}
	if _, err := readAll([]byte("--b\r\nno header end"), "b", func(r io.Reader) io.Reader { return r }, 64); err == nil {
		t.Error("a header without its blank line was accepted")
	}
	if _, err := NewReader(strings.NewReader(""), strings.Repeat("b", 71)); err == nil {
		t.Error("a 71-character boundary was accepted")
	}
}

// FuzzReader checks our reader against mime/multipart: whatever we accept,
// the standard library must read the same way, and we never panic.
func FuzzReader(f *testing.F) {
	for _, parts := range [][]part{
		{{"file", "a/b.txt", []byte("data\r\n--x")}},
		{{"title", "", []byte("t")}, {"file", "c", nil}},
	} {
		body, boundary := encode(f, parts)
		f.Add(body, boundary, 3)
	}
	f.Add([]byte("--b\r\n\r\nx\r\n--b--"), "b", 1)
	f.Fuzz(func(t *testing.T, body []byte, boundary string, bufSize int) {
		bufSize = 1 + abs(bufSize)%9000
		ours, err := readAll(body, boundary, func(r io.Reader) io.Reader { return r }, bufSize)
		if err != nil {
			return
		}
		std, serr := readStd(body, boundary)
		if serr != nil {
			return // stricter or looser on junk is fine; agreement on what both accept is not optional
		}
		if !same(ours, std) {
			t.Fatalf("ours %q differs from mime/multipart %q", ours, std)
		}
	})
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
