package portal

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestBrowseAndSearch(t *testing.T) {
	h := newHarness(t)
	ih := map[string]string{}
	for i, f := range []struct{ title, category, file, content, desc string }{
		{"Linear Algebra", "Books", "algebra/ch1.pdf", strings.Repeat("a", 300), "eigenvalues"},
		{"Movie night", "Video", "night.mkv", strings.Repeat("b", 900), ""},
		{"Lecture notes", "Books", "notes/week_07.txt", strings.Repeat("c", 100), ""},
	} {
		code, obj, raw := h.upload(t, map[string]string{f.file: f.content}, map[string]string{"title": f.title, "category": f.category, "description": f.desc})
		if code != 201 {
			t.Fatalf("upload %d: %d %s", i, code, raw)
		}
		ih[f.title] = obj.InfoHash
	}
	list := func(query string) listReply {
		resp, b := h.do(t, "GET", "/api/v1/torrents?"+query, h.token, nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("list %s: %d %s", query, resp.StatusCode, b)
		}
		var r listReply
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	titles := func(r listReply) string {
		var s []string
		for _, o := range r.Torrents {
			s = append(s, o.Title)
		}
		return strings.Join(s, ",")
	}
	for _, tt := range []struct{ query, want string }{
		{"", "Lecture notes,Movie night,Linear Algebra"},
		{"sort=size", "Movie night,Linear Algebra,Lecture notes"},
		{"category=Books", "Lecture notes,Linear Algebra"},
		{"q=eigenvalues", "Linear Algebra"},
		{"q=week_07", "Lecture notes"},
		{"q=" + url.QueryEscape("ch1 linear"), "Linear Algebra"},
		{"q=nothing-like-this", ""},
		{"sort=completed&category=Video", "Movie night"},
		{"sort=seeders", "Lecture notes,Movie night,Linear Algebra"},
		{"page=2", ""},
	} {
		if got := titles(list(tt.query)); got != tt.want {
			t.Errorf("list ?%s = %q, want %q", tt.query, got, tt.want)
		}
	}
	r := list("q=algebra")
	if r.Total != 1 || len(r.Torrents[0].Files) != 1 || r.Torrents[0].Files[0].Path != "algebra/ch1.pdf" && r.Torrents[0].Files[0].Path != "ch1.pdf" ||
		len(r.Torrents[0].Replicas) != 1 || r.Torrents[0].Magnet == "" {
		t.Errorf("list object lacks files, replicas or magnet: %+v", r)
	}
	for _, bad := range []string{"sort=random", "page=0", "page=x"} {
		if resp, _ := h.do(t, "GET", "/api/v1/torrents?"+bad, h.token, nil, nil); resp.StatusCode != 400 {
			t.Errorf("?%s: %d, want 400", bad, resp.StatusCode)
		}
	}

	resp, b := h.do(t, "GET", "/?q=notes&sort=size", "", nil, nil)
	page := string(b)
	if resp.StatusCode != 200 || !strings.Contains(page, "/t/"+ih["Lecture notes"]) || strings.Contains(page, "/t/"+ih["Movie night"]) {
		t.Errorf("home search: %d", resp.StatusCode)
	}
	if !strings.Contains(page, `<option value="size" selected>`) {
		t.Error("home page does not keep the chosen sort")
	}
	_, b = h.do(t, "GET", "/?category=Video", "", nil, nil)
	if !strings.Contains(string(b), "/t/"+ih["Movie night"]) || strings.Contains(string(b), "/t/"+ih["Lecture notes"]) {
		t.Error("home category filter")
	}
	_, b = h.do(t, "GET", "/?q=zzzz", "", nil, nil)
	if !strings.Contains(string(b), "Nothing matches") {
		t.Error("no empty state for a search without results")
	}
	_, b = h.do(t, "GET", "/?q=%3Cscript%3Ealert(1)%3C/script%3E", "", nil, nil)
	if strings.Contains(string(b), "<script>alert(1)") {
		t.Error("search text is not escaped")
	}
}

// TestHomePageWeight fills a page with 50 long-titled torrents and checks
// the home page, with its CSS and icon, stays under 100 KB.
func TestHomePageWeight(t *testing.T) {
	h := newHarness(t)
	for i := range 55 {
		title := fmt.Sprintf("%03d %s", i, strings.Repeat("Long descriptive title words ", 8))
		code, _, raw := h.upload(t, map[string]string{fmt.Sprintf("f%d.bin", i): fmt.Sprintf("content %d", i)},
			map[string]string{"title": title[:200], "category": "Course material"})
		if code != 201 {
			t.Fatalf("upload: %d %s", code, raw)
		}
	}
	resp, b := h.do(t, "GET", "/", "", nil, nil)
	if resp.StatusCode != 200 || strings.Count(string(b), `<a href="/t/`) != perPage || !strings.Contains(string(b), "page=2") {
		t.Fatalf("home: %d, %d rows", resp.StatusCode, strings.Count(string(b), `<a href="/t/`))
	}
	total := len(b)
	for _, asset := range []string{"app.css", "favicon.svg"} {
		r, body := h.do(t, "GET", "/static/"+asset, "", nil, nil)
		if r.StatusCode != 200 {
			t.Fatalf("%s: %d", asset, r.StatusCode)
		}
		total += len(body)
	}
	t.Logf("home page with %d rows: HTML %d bytes, with CSS and icon %d bytes", perPage, len(b), total)
	if total >= 100_000 {
		t.Errorf("home page weighs %d bytes, want under 100 KB", total)
	}
}
