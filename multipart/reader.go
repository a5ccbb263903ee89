// Package multipart is a streaming multipart/form-data reader (RFC 7578,
// RFC 2046 section 5.1) built for large uploads: it scans a 1 MiB window for
// the boundary with bytes.Index and hands out data in large chunks, where
// mime/multipart steps through 4 KiB peeks. It parses only what an upload
// needs: part headers (Content-Disposition name and filename, the raw
// filename kept with its folders) and part bodies.
package multipart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/textproto"
)

// Errors callers may branch on.
var (
	ErrMalformed = errors.New("malformed multipart body")
	ErrTruncated = errors.New("multipart body ends before its closing boundary")
)

const (
	windowSize     = 1 << 20
	maxHeaderBytes = 16 << 10
	maxBoundary    = 70 // RFC 2046
)

// Reader reads the parts of one multipart body in order.
type Reader struct {
	src      io.Reader
	buf      []byte
	start    int
	end      int
	eof      bool
	delim    []byte // "\r\n--" + boundary
	started  bool
	done     bool
	cur      *Part
	firstErr error
	// The delimiter search of the current part: delimAt is where the next
	// delimiter starts in buf (-1: not found yet); buf[start:scanned] is
	// known not to hold one.
	delimAt int
	scanned int
}

// NewReader reads a body with the given boundary (from Content-Type).
func NewReader(r io.Reader, boundary string) (*Reader, error) {
	if boundary == "" || len(boundary) > maxBoundary {
		return nil, fmt.Errorf("%w: boundary must be 1 to 70 characters", ErrMalformed)
	}
	return &Reader{src: r, buf: make([]byte, windowSize), delim: []byte("\r\n--" + boundary), delimAt: -1}, nil
}

// Part is one part of the body; read it to io.EOF or call NextPart.
type Part struct {
	Header   textproto.MIMEHeader
	r        *Reader
	finished bool
}

// FormName is the name parameter of the part's Content-Disposition.
func (p *Part) FormName() string { return p.param("name") }

// FileName is the filename parameter exactly as sent, folders included
// (mime/multipart keeps only the base name).
func (p *Part) FileName() string { return p.param("filename") }

func (p *Part) param(key string) string {
	v := p.Header.Get("Content-Disposition")
	disp, params, err := mime.ParseMediaType(v)
	if err != nil || disp != "form-data" {
		return ""
	}
	return params[key]
}

// fill reads more bytes into the window, keeping the unread ones.
func (r *Reader) fill() error {
	if r.eof {
		return io.ErrUnexpectedEOF
	}
	if r.start > 0 {
		shift := r.start
		r.end = copy(r.buf, r.buf[r.start:r.end])
		r.start = 0
		r.scanned = max(r.scanned-shift, 0)
		if r.delimAt >= 0 {
			r.delimAt -= shift
		}
	}
	if r.end == len(r.buf) {
		return fmt.Errorf("%w: line too long", ErrMalformed)
	}
	n, err := r.src.Read(r.buf[r.end:])
	r.end += n
	if errors.Is(err, io.EOF) {
		r.eof = true
		if n == 0 {
			return io.ErrUnexpectedEOF
		}
		return nil
	}
	return err
}

// need makes at least n unread bytes available.
func (r *Reader) need(n int) error {
	for r.end-r.start < n {
		if err := r.fill(); err != nil {
			return err
		}
	}
	return nil
}

// NextPart skips what is left of the current part and returns the next one,
// or io.EOF after the closing boundary.
func (r *Reader) NextPart() (*Part, error) {
	if r.firstErr != nil {
		return nil, r.firstErr
	}
	p, err := r.nextPart()
	if err != nil && !errors.Is(err, io.EOF) {
		r.firstErr = err
	}
	return p, err
}

func (r *Reader) nextPart() (*Part, error) {
	if r.done {
		return nil, io.EOF
	}
	if r.cur != nil {
		if _, err := io.Copy(io.Discard, r.cur); err != nil {
			return nil, err
		}
	}
	if !r.started {
		if err := r.skipPreamble(); err != nil {
			return nil, err
		}
		r.started = true
	}
	last, err := r.afterBoundary()
	if err != nil {
		return nil, err
	}
	if last {
		return nil, io.EOF
	}
	hdr, err := r.readHeader()
	if err != nil {
		return nil, err
	}
	r.cur = &Part{Header: hdr, r: r}
	r.delimAt, r.scanned = -1, r.start
	return r.cur, nil
}

// skipPreamble consumes everything up to and including the first
// "--boundary"; the preamble may be empty (no leading CRLF).
func (r *Reader) skipPreamble() error {
	dash := r.delim[2:]
	for {
		win := r.buf[r.start:r.end]
		if bytes.HasPrefix(win, dash) {
			r.start += len(dash)
			return nil
		}
		if i := bytes.Index(win, r.delim); i >= 0 {
			r.start += i + len(r.delim)
			return nil
		}
		if keep := len(r.delim) - 1; len(win) > keep {
			r.start = r.end - keep
		}
		if err := r.fill(); err != nil {
			return truncated(err)
		}
	}
}

// afterBoundary reads what follows a boundary: "--" closes the body,
// otherwise optional whitespace then CRLF starts a part.
func (r *Reader) afterBoundary() (last bool, err error) {
	if err := r.need(2); err != nil {
		return false, truncated(err)
	}
	if bytes.HasPrefix(r.buf[r.start:r.end], []byte("--")) {
		r.done = true
		return true, nil
	}
	for {
		if err := r.need(2); err != nil {
			return false, truncated(err)
		}
		switch c := r.buf[r.start]; {
		case c == ' ' || c == '\t':
			r.start++
		case c == '\r' && r.buf[r.start+1] == '\n':
			r.start += 2
			return false, nil
		default:
			return false, fmt.Errorf("%w: junk after boundary", ErrMalformed)
		}
	}
}

// readHeader reads the part's header block, up to the empty line.
func (r *Reader) readHeader() (textproto.MIMEHeader, error) {
	for {
		win := r.buf[r.start:r.end]
		if bytes.HasPrefix(win, []byte("\r\n")) {
			r.start += 2
			return textproto.MIMEHeader{}, nil
		}
		if i := bytes.Index(win, []byte("\r\n\r\n")); i >= 0 {
			block := win[:i+4]
			r.start += i + 4
			tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(block)))
			h, err := tr.ReadMIMEHeader()
			if err != nil {
				return nil, fmt.Errorf("%w: part header: %v", ErrMalformed, err)
			}
			return h, nil
		}
		if len(win) > maxHeaderBytes {
			return nil, fmt.Errorf("%w: part header over %d bytes", ErrMalformed, maxHeaderBytes)
		}
		if err := r.fill(); err != nil {
			return nil, truncated(err)
		}
	}
}

// Read returns the part's data; it ends at the next boundary.
func (p *Part) Read(b []byte) (int, error) {
	if p.finished {
		return 0, io.EOF
	}
	r := p.r
	for {
		if at := r.findDelim(); at >= 0 {
			if at == r.start {
				r.start += len(r.delim)
				r.delimAt = -1
				p.finished = true
				return 0, io.EOF
			}
			n := copy(b, r.buf[r.start:at])
			r.start += n
			return n, nil
		}
		// Hand out what cannot be the start of a delimiter.
		if r.scanned > r.start {
			n := copy(b, r.buf[r.start:r.scanned])
			r.start += n
			return n, nil
		}
		if err := r.fill(); err != nil {
			return 0, truncated(err)
		}
	}
}

// findDelim returns where the next delimiter starts in buf, or -1, scanning
// each byte of the window once however small the callers' reads are.
func (r *Reader) findDelim() int {
	if r.delimAt >= 0 {
		return r.delimAt
	}
	from := max(r.start, r.scanned)
	if i := bytes.Index(r.buf[from:r.end], r.delim); i >= 0 {
		r.delimAt = from + i
		return r.delimAt
	}
	r.scanned = max(from, r.end-(len(r.delim)-1))
	return -1
}

func truncated(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrTruncated
	}
	return err
}
