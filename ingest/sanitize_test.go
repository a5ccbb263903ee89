package ingest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSanitizePathAccepts(t *testing.T) {
	tests := []struct {
		name string
		want []string
	}{
		{"a.txt", []string{"a.txt"}},
		{"dir/a.txt", []string{"dir", "a.txt"}},
		{`dir\sub\a.txt`, []string{"dir", "sub", "a.txt"}},
		{"a//b", []string{"a", "b"}},
		{"a/b/", []string{"a", "b"}},
		{"./a", []string{"a"}},
		{".//a", []string{"a"}},
		{"././a/b", []string{"a", "b"}},
		{".hidden", []string{".hidden"}},
		{"...", []string{"..."}},
		{"a..b/..c", []string{"a..b", "..c"}},
		{"日本語/ファイル.txt", []string{"日本語", "ファイル.txt"}},
		{"Ünïcödé 🎉.mkv", []string{"Ünïcödé 🎉.mkv"}},
		{"ab:c", []string{"ab:c"}},
		{"1:", []string{"1:"}},
		{"dir/C:", []string{"dir", "C:"}},
		{strings.Repeat("x", MaxComponentBytes), []string{strings.Repeat("x", MaxComponentBytes)}},
		{strings.Repeat("a/", MaxComponents), slices.Repeat([]string{"a"}, MaxComponents)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SanitizePath(tt.name)
			if err != nil {
				t.Fatalf("SanitizePath(%q): %v", tt.name, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("SanitizePath(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestSanitizePathRefuses(t *testing.T) {
	long := strings.Repeat("x", 200)
	tests := []string{
		"",
		".",
		"./",
		"/",
		"//",
		"..",
		"../a",
		"a/../b",
		"a/..",
		`..\a`,
		`a\..\..\b`,
		"a/./b",
		"a/.",
		"/etc/passwd",
		`\windows\system32`,
		`\\server\share\a`,
		"C:",
		"C:/a",
		`c:\a`,
		"C:a",
		"a:b",
		"./C:/a",
		"a\x00b",
		"a\nb",
		"a\tb",
		"a\x7fb",
		"a\u0085b",
		"\xff",
		"a/\xc3(",
		strings.Repeat("x", MaxComponentBytes+1),
		strings.Repeat("a/", MaxComponents+1),
		strings.Repeat(long+"/", 21),
		strings.Repeat("/", 2*MaxPathBytes+1) + "a",
	}
	for _, name := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := SanitizePath(name)
			if err == nil {
				t.Fatalf("SanitizePath(%q) = %q, want an error", name, got)
			}
			if !errors.Is(err, ErrBadName) {
				t.Errorf("error %v does not wrap ErrBadName", err)
			}
		})
	}
}

func FuzzSanitizePath(f *testing.F) {
	for _, s := range []string{
		"a.txt", "dir/a.txt", `a\b`, "./a", "a//b", "..", "../x", "/abs", "C:/x",
		"a\x00b", "\xff", "日本語/ファイル", ".", "a/./b", "...", " ", "a/ /b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		comps, err := SanitizePath(name)
		if err != nil {
			if !errors.Is(err, ErrBadName) {
				t.Fatalf("error %v does not wrap ErrBadName", err)
			}
			return
		}
		if len(comps) == 0 || len(comps) > MaxComponents {
			t.Fatalf("%d components", len(comps))
		}
		for _, c := range comps {
			checkFuzzedComponent(t, c)
		}
		joined := strings.Join(comps, "/")
		again, err := SanitizePath(joined)
		if err != nil || !slices.Equal(again, comps) {
			t.Fatalf("SanitizePath(%q) = %q, %v; want %q", joined, again, err, comps)
		}
	})
}

func checkFuzzedComponent(t *testing.T, c string) {
	t.Helper()
	if c == "" || c == "." || c == ".." || len(c) > MaxComponentBytes {
		t.Fatalf("bad component %q", c)
	}
	if strings.ContainsAny(c, "/\\\x00") || !utf8.ValidString(c) {
		t.Fatalf("bad component %q", c)
	}
	if strings.IndexFunc(c, unicode.IsControl) >= 0 {
		t.Fatalf("control character in component %q", c)
	}
}
