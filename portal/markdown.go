package portal

import (
	"html"
	"html/template"
	"regexp"
	"strconv"
	"strings"
)

// Descriptions are Markdown, rendered escaping first: the whole text is
// HTML-escaped, then a small subset of Markdown is turned into a fixed set
// of tags (p, br, h3-h5, ul, ol, li, pre, code, strong, em, blockquote and
// a with an http, https or mailto link). No raw HTML passes through, so a
// description cannot inject script or attributes.

var (
	mdCode   = regexp.MustCompile("`([^`\n]+)`")
	mdBold   = regexp.MustCompile(`\*\*([^*\n]+)\*\*`)
	mdItalic = regexp.MustCompile(`(^|[^\w*])[*_]([^*_\n]+)[*_]($|[^\w*])`)
	mdLink   = regexp.MustCompile(`\[([^\]\n]+)\]\(((?:https?://|mailto:)[^\s()<>"]+)\)`)
	mdOList  = regexp.MustCompile(`^\d{1,9}[.)] `)
	// mdPlaceholder marks a link set aside while emphasis is applied.
	mdPlaceholder = regexp.MustCompile("\x00[0-9]+\x00")
)

// renderMarkdown turns a description into safe HTML.
func renderMarkdown(src string) template.HTML {
	src = strings.NewReplacer("\x00", "", "\r\n", "\n").Replace(src) // NUL marks set-aside links
	lines := strings.Split(src, "\n")
	var b strings.Builder
	var para []string
	list := "" // "ul" or "ol" while inside a list
	flush := func() {
		if len(para) > 0 {
			b.WriteString("<p>" + strings.Join(para, "<br>\n") + "</p>\n")
			para = nil
		}
		if list != "" {
			b.WriteString("</" + list + ">\n")
			list = ""
		}
	}
	for i := 0; i < len(lines); i++ {
		line := strings.TrimRight(lines[i], " \t")
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(trimmed, "```"):
			flush()
			var code []string
			for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
				code = append(code, html.EscapeString(lines[i]))
			}
			b.WriteString("<pre><code>" + strings.Join(code, "\n") + "</code></pre>\n")
		case trimmed == "":
			flush()
		case strings.HasPrefix(trimmed, "#"):
			flush()
			level := len(trimmed) - len(strings.TrimLeft(trimmed, "#"))
			text := strings.TrimSpace(trimmed[level:])
			tag := "h" + string(rune('2'+min(max(level, 1), 3))) // # -> h3 (the page has h1 and h2)
			b.WriteString("<" + tag + ">" + mdInline(text) + "</" + tag + ">\n")
		case strings.HasPrefix(trimmed, "- ") || strings.HasPrefix(trimmed, "* ") || mdOList.MatchString(trimmed):
			kind, text := "ul", trimmed[2:]
			if m := mdOList.FindString(trimmed); m != "" {
				kind, text = "ol", trimmed[len(m):]
			}
			if list != kind {
				flush()
				b.WriteString("<" + kind + ">\n")
				list = kind
			}
			b.WriteString("<li>" + mdInline(text) + "</li>\n")
		case strings.HasPrefix(trimmed, "&gt;") || strings.HasPrefix(trimmed, ">"):
			flush()
			b.WriteString("<blockquote>" + mdInline(strings.TrimSpace(strings.TrimPrefix(trimmed, ">"))) + "</blockquote>\n")
		default:
			if list != "" {
				flush()
			}
			para = append(para, mdInline(trimmed))
		}
	}
	flush()
	return template.HTML(b.String())
}

// mdInline escapes a line and applies code spans, links, bold and italics.
// Code spans are cut out first so nothing inside them is formatted.
func mdInline(s string) string {
	parts := mdCode.FindAllStringSubmatchIndex(s, -1)
	var b strings.Builder
	last := 0
	for _, p := range parts {
		b.WriteString(mdSpans(s[last:p[0]]))
		b.WriteString("<code>" + html.EscapeString(s[p[2]:p[3]]) + "</code>")
		last = p[1]
	}
	b.WriteString(mdSpans(s[last:]))
	return b.String()
}

func mdSpans(s string) string {
	s = html.EscapeString(s)
	// Escaped text holds no < > " or ': the replacements below are the
	// only markup, and an href cannot leave its quotes. Links are set aside
	// while bold and italics are applied, so a URL is never re-formatted.
	var links []string
	s = mdLink.ReplaceAllStringFunc(s, func(m string) string {
		sub := mdLink.FindStringSubmatch(m)
		links = append(links, `<a href="`+sub[2]+`" rel="nofollow noopener">`+mdEmphasis(sub[1])+`</a>`)
		return "\x00" + strconv.Itoa(len(links)-1) + "\x00"
	})
	s = mdEmphasis(s)
	if len(links) == 0 {
		return s
	}
	return mdPlaceholder.ReplaceAllStringFunc(s, func(m string) string {
		n, _ := strconv.Atoi(m[1 : len(m)-1])
		return links[n]
	})
}

func mdEmphasis(s string) string {
	s = mdBold.ReplaceAllString(s, "<strong>$1</strong>")
	return mdItalic.ReplaceAllString(s, "$1<em>$2</em>$3")
}
