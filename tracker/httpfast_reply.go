package tracker

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// The fast HTTP frontend's replies, byte for byte what net/http writes for
// Tracker.ServeHTTP's writeReply: status line, the handler's Content-Type,
// then net/http's own Date, Content-Length or (for a body over
// netHTTPBufferSize, which net/http's response buffer does not hold) chunked
// transfer coding, and Connection: close when the connection ends.

// netHTTPBufferSize is net/http's bufferBeforeChunkingSize: a body written
// in one call that does not fit is sent chunked.
const netHTTPBufferSize = 2048

// appendHTTPReply appends a 200 reply carrying body to dst.
func appendHTTPReply(dst, body []byte, closing bool, now time.Time) []byte {
	dst = append(dst, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: "...)
	dst = appendHTTPDate(dst, now)
	chunked := len(body) > netHTTPBufferSize
	if !chunked {
		dst = append(dst, "\r\nContent-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
	}
	dst = append(dst, "\r\n"...)
	if closing {
		dst = append(dst, "Connection: close\r\n"...)
	}
	if !chunked {
		dst = append(dst, "\r\n"...)
		return append(dst, body...)
	}
	dst = append(dst, "Transfer-Encoding: chunked\r\n\r\n"...)
	dst = strconv.AppendInt(dst, int64(len(body)), 16)
	dst = append(dst, "\r\n"...)
	dst = append(dst, body...)
	return append(dst, "\r\n0\r\n\r\n"...)
}

// httpDate is the Date header's value for one second.
type httpDate struct {
	unix int64
	text [len(http.TimeFormat)]byte
}

var lastHTTPDate atomic.Pointer[httpDate]

// appendHTTPDate appends now as an HTTP date (RFC 9110 section 5.6.7),
// formatting it once per second.
func appendHTTPDate(dst []byte, now time.Time) []byte {
	sec := now.Unix()
	d := lastHTTPDate.Load()
	if d == nil || d.unix != sec {
		d = &httpDate{unix: sec}
		now.UTC().AppendFormat(d.text[:0], http.TimeFormat)
		lastHTTPDate.Store(d)
	}
	return append(dst, d.text[:]...)
}
