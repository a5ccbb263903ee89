package portal

import (
	"bytes"
	"encoding/xml"
	"net/url"
	"strings"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
)

func TestRSS(t *testing.T) {
	h := newHarness(t)
	var ihs []string
	for i, f := range []struct{ title, category string }{
		{"Old <script>alert(1)</script> & notes", "Books"},
		{"New video", "Video"},
	} {
		code, obj, raw := h.upload(t, map[string]string{"f" + string(rune('a'+i)) + ".txt": f.title}, map[string]string{"title": f.title, "category": f.category})
		if code != 201 {
			t.Fatalf("upload: %d %s", code, raw)
		}
		ihs = append(ihs, obj.InfoHash)
	}
	if resp, _ := h.do(t, "GET", "/rss", "", nil, nil); resp.StatusCode != 401 {
		t.Errorf("RSS without token: %d, want 401", resp.StatusCode)
	}
	if resp, _ := h.do(t, "GET", "/rss?token=sbt_nope", "", nil, nil); resp.StatusCode != 401 {
		t.Errorf("RSS with a bad token: %d, want 401", resp.StatusCode)
	}
	feed := func(query string) rssFeed {
		resp, b := h.do(t, "GET", "/rss?token="+url.QueryEscape(h.token)+query, "", nil, nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/rss+xml") {
			t.Fatalf("RSS: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if bytes.Contains(b, []byte("<script>")) {
			t.Error("RSS carries an unescaped script tag")
		}
		var f rssFeed
		if err := xml.Unmarshal(b, &f); err != nil {
			t.Fatalf("RSS is not well-formed XML: %v\n%s", err, b)
		}
		return f
	}
	f := feed("")
	if f.Version != "2.0" || len(f.Channel.Items) != 2 || f.Channel.Items[0].GUID.Value != ihs[1] {
		t.Fatalf("feed: %+v", f)
	}
	old := f.Channel.Items[1]
	if old.Title != "Old <script>alert(1)</script> & notes" || old.Category != "Books" || old.Link != h.srv.URL+"/t/"+ihs[0] ||
		old.Enclosure.Type != "application/x-bittorrent" || old.PubDate == "" {
		t.Errorf("item: %+v", old)
	}
	// A client's RSS downloader fetches the enclosure with no session.
	resp, b := h.do(t, "GET", strings.TrimPrefix(old.Enclosure.URL, h.srv.URL), "", nil, nil)
	if resp.StatusCode != 200 {
		t.Fatalf("enclosure: %d", resp.StatusCode)
	}
	mi, err := metainfo.Load(bytes.NewReader(b))
	if err != nil || mi.HashInfoBytes().HexString() != ihs[0] || !strings.HasSuffix(mi.Announce, h.user.Passkey) {
		t.Fatalf("enclosure is not the user's .torrent: %v", err)
	}
	if f := feed("&category=Video"); len(f.Channel.Items) != 1 || f.Channel.Items[0].GUID.Value != ihs[1] || !strings.Contains(f.Channel.Title, "Video") {
		t.Errorf("category feed: %+v", f)
	}
}
