package tracker

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
)

// httpAnnounce and httpScrape hold everything one HTTP request needs; they
// are pooled, so a steady-state announce allocates nothing.
type httpAnnounce struct {
	req  AnnounceRequest
	resp AnnounceResponse
	buf  []byte
}

type httpScrape struct {
	req  ScrapeRequest
	resp ScrapeResponse
	buf  []byte
}

// textPlain is shared by every reply's header; net/http only reads it.
var textPlain = []string{"text/plain"}

// ServeHTTP is the HTTP frontend (BEP 3, 23, 7, 48): GET /announce/{passkey}
// and GET /scrape/{passkey}; anything else is 404. Tracker failures are
// bencoded "failure reason" replies with status 200, as clients expect. The
// client's IP is that of r.RemoteAddr, or the one a trusted proxy names
// (Options.TrustedProxies); its port comes from the port parameter.
func (t *Tracker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		if passkey, ok := cutPasskey(r.URL.Path, "/announce"); ok {
			t.serveAnnounce(w, r, passkey)
			return
		}
		if passkey, ok := cutPasskey(r.URL.Path, "/scrape"); ok {
			t.serveScrape(w, r, passkey)
			return
		}
	}
	http.NotFound(w, r)
}

// cutPasskey matches prefix or prefix/{passkey}. A bare prefix matches with
// an empty passkey, so the client hears "missing passkey" rather than a 404.
func cutPasskey(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix)
	switch {
	case !ok:
		return "", false
	case rest == "" || rest == "/":
		return "", true
	case rest[0] != '/' || strings.IndexByte(rest[1:], '/') >= 0:
		return "", false
	}
	return rest[1:], true
}

func (t *Tracker) serveAnnounce(w http.ResponseWriter, r *http.Request, passkey string) {
	st := t.announces.Get().(*httpAnnounce)
	defer t.announces.Put(st)
	writeReply(w, t.announceReply(r.Context(), st, r.URL.RawQuery, passkey, t.clientIP(r)))
}

// announceReply answers the announce in query (a raw query string) from ip
// with passkey, into st's buffer: the reply body both HTTP frontends send.
func (t *Tracker) announceReply(ctx context.Context, st *httpAnnounce, query, passkey string, ip netip.Addr) []byte {
	st.req.reset()
	st.resp.reset()
	err := parseAnnounce(query, &st.req)
	if err == nil {
		st.req.Passkey = passkey
		st.req.IP = ip
		err = t.Announce(ctx, &st.req, &st.resp)
	}
	t.CountAnnounce(ProtocolHTTP, err)
	if err != nil {
		st.buf = appendFailure(st.buf[:0], t.failureReason(ctx, "announce", err))
	} else {
		st.buf = appendAnnounce(st.buf[:0], &st.req, &st.resp)
	}
	return st.buf
}

func (t *Tracker) serveScrape(w http.ResponseWriter, r *http.Request, passkey string) {
	st := t.scrapes.Get().(*httpScrape)
	defer t.scrapes.Put(st)
	writeReply(w, t.scrapeReply(r.Context(), st, r.URL.RawQuery, passkey))
}

// scrapeReply answers the scrape in query with passkey into st's buffer.
func (t *Tracker) scrapeReply(ctx context.Context, st *httpScrape, query, passkey string) []byte {
	st.req = ScrapeRequest{Passkey: passkey, InfoHashes: st.req.InfoHashes[:0]}
	st.resp.Files = st.resp.Files[:0]
	err := parseScrape(query, &st.req)
	if err == nil {
		err = t.Scrape(ctx, &st.req, &st.resp)
	}
	t.CountScrape(ProtocolHTTP, err)
	if err != nil {
		st.buf = appendFailure(st.buf[:0], t.failureReason(ctx, "scrape", err))
	} else {
		st.buf = appendScrape(st.buf[:0], st.resp.Files)
	}
	return st.buf
}

// remoteIP is the IP of an http.Request's RemoteAddr ("ip:port"), with an
// IPv4-mapped address unmapped; the zero Addr when it cannot be parsed.
func remoteIP(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap()
	}
	ip, _ := netip.ParseAddr(remote)
	return ip.Unmap()
}

// failureReason is the text a client sees for err: a ClientError's own, or
// a generic reason for anything else, which is logged.
func (t *Tracker) failureReason(ctx context.Context, op string, err error) string {
	if ce, ok := err.(ClientError); ok {
		if t.log.Enabled(ctx, slog.LevelDebug) {
			t.log.Debug("tracker: request refused", "op", op, "reason", string(ce))
		}
		return string(ce)
	}
	var ce ClientError
	if errors.As(err, &ce) {
		return string(ce)
	}
	t.log.Error("tracker: request failed", "op", op, "err", err)
	return string(errInternal)
}

func writeReply(w http.ResponseWriter, body []byte) {
	w.Header()["Content-Type"] = textPlain
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}
