package portal

import (
	"net/url"
	"strings"
	"testing"
)

// TestScriptIsEscapedEverywhere uploads a torrent whose title, description
// and file names hold markup and checks that no page or feed lets it through.
func TestScriptIsEscapedEverywhere(t *testing.T) {
	h := newHarness(t)
	evil := `<script>alert(1)</script>`
	code, obj, raw := h.upload(t,
		map[string]string{`dir/<img src=x onerror=alert(2)>.txt`: "content", `dir/"quoted' & <b>.bin`: "more"},
		map[string]string{"title": evil + " title", "category": `<i>cat</i>`, "description": evil + "\n\n[x](javascript:alert(3)) <img src=x onerror=alert(4)>"})
	if code != 201 {
		t.Fatalf("upload: %d %s", code, raw)
	}
	b := h.signIn(t, "alice")
	for _, page := range []string{"/", "/?q=title", "/t/" + obj.InfoHash, "/u/alice", "/?category=" + url.QueryEscape("<i>cat</i>")} {
		_, body := b.get(page)
		for _, bad := range []string{"<script>alert", "<img src=x", `href="javascript:`, "<i>cat</i>", "<b>.bin"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s contains raw %q", page, bad)
			}
		}
	}
	_, body := b.get("/t/" + obj.InfoHash)
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt; title", "&lt;img src=x onerror=alert(2)&gt;.txt", "&lt;b&gt;.bin"} {
		if !strings.Contains(body, want) {
			t.Errorf("torrent page lacks the escaped %q", want)
		}
	}
	resp, feed := h.do(t, "GET", "/rss?token="+url.QueryEscape(h.token), "", nil, nil)
	if resp.StatusCode != 200 || strings.Contains(string(feed), "<script>") {
		t.Errorf("feed: %d, must escape markup", resp.StatusCode)
	}
}
