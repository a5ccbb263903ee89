package portal

import (
	"regexp"
	"strings"
	"testing"
)

func TestMarkdown(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"hello", "<p>hello</p>\n"},
		{"a\nb\n\nc", "<p>a<br>\nb</p>\n<p>c</p>\n"},
		{"# Title", "<h3>Title</h3>\n"},
		{"**bold** and *it* and _it_", "<p><strong>bold</strong> and <em>it</em> and <em>it</em></p>\n"},
		{"- one\n- two", "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"},
		{"1. one\n2. two", "<ol>\n<li>one</li>\n<li>two</li>\n</ol>\n"},
		{"use `a<b>` here", "<p>use <code>a&lt;b&gt;</code> here</p>\n"},
		{"```\n<script>x</script>\n```", "<pre><code>&lt;script&gt;x&lt;/script&gt;</code></pre>\n"},
		{"[site](https://example.org/a_b_c?x=1&y=2)", `<p><a href="https://example.org/a_b_c?x=1&amp;y=2" rel="nofollow noopener">site</a></p>` + "\n"},
		{"[bad](javascript:alert(1))", "<p>[bad](javascript:alert(1))</p>\n"},
		{`[q](https://x.org/"onmouseover=alert(1))`, "<p>[q](https://x.org/&#34;onmouseover=alert(1))</p>\n"},
		{"<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>\n"},
		{"<img src=x onerror=alert(1)>", "<p>&lt;img src=x onerror=alert(1)&gt;</p>\n"},
		{"> quoted", "<blockquote>quoted</blockquote>\n"},
	} {
		if got := string(renderMarkdown(tt.in)); got != tt.want {
			t.Errorf("renderMarkdown(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

var (
	mdTag     = regexp.MustCompile(`<(/?)([a-z0-9]+)((?: [a-z]+="[^"<>]*")*)>`)
	mdAllowed = map[string]bool{"p": true, "br": true, "h3": true, "h4": true, "h5": true, "ul": true, "ol": true,
		"li": true, "pre": true, "code": true, "strong": true, "em": true, "blockquote": true, "a": true}
	mdAttr = regexp.MustCompile(` ([a-z]+)="([^"]*)"`)
)

// FuzzMarkdown: whatever a description holds, the output has only the
// allowed tags, only href and rel attributes, and only http(s)/mailto links.
func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{"# h\n- a\n1. b\n```\nx\n```", "[a](https://x.y/_b_) **c** _d_ `e`", "<script>", "[x](mailto:a@b)", "\x000\x00[a](http://b)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := string(renderMarkdown(in))
		rest := mdTag.ReplaceAllStringFunc(out, func(tag string) string {
			m := mdTag.FindStringSubmatch(tag)
			if !mdAllowed[m[2]] {
				t.Fatalf("tag %q from %q", tag, in)
			}
			for _, a := range mdAttr.FindAllStringSubmatch(m[3], -1) {
				switch {
				case m[2] != "a" || (a[1] != "href" && a[1] != "rel"):
					t.Fatalf("attribute %q on %q from %q", a[1], tag, in)
				case a[1] == "href" && !(strings.HasPrefix(a[2], "http://") || strings.HasPrefix(a[2], "https://") || strings.HasPrefix(a[2], "mailto:")):
					t.Fatalf("href %q from %q", a[2], in)
				}
			}
			return ""
		})
		if strings.ContainsAny(rest, "<>") {
			t.Fatalf("raw < or > left in %q from %q", out, in)
		}
	})
}
