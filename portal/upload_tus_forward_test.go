package portal

import (
	"net/url"
	"strings"
	"testing"
)

func TestRebaseLocation(t *testing.T) {
	const id = "7-3-s-0123456789abcdef0123456789abcdef"
	for _, tc := range []struct{ loc, want string }{
		{"http://node1.example:8080/api/v1/uploads/" + id, "https://campus.example/api/v1/uploads/" + id},
		{"http://node1.example/prefix/api/v1/uploads/" + id, "https://campus.example/api/v1/uploads/" + id},
		{"http://node1.example/api/v1/uploads/not-an-id", "http://node1.example/api/v1/uploads/not-an-id"},
		{"http://node1.example/elsewhere/" + id, "http://node1.example/elsewhere/" + id},
		{"::not a url", "::not a url"},
	} {
		if got := rebaseLocation(tc.loc, "https://campus.example"); got != tc.want {
			t.Errorf("rebaseLocation(%q) = %q, want %q", tc.loc, got, tc.want)
		}
	}
}

func TestForwardPath(t *testing.T) {
	for _, tc := range []struct{ base, sub, want string }{
		{"", "/7-3-s-x", "/api/v1/uploads/7-3-s-x"},
		{"/", "/", "/api/v1/uploads/"},
		{"/seedbed/", "", "/seedbed/api/v1/uploads"},
	} {
		if got := forwardPath(tc.base, tc.sub); got != tc.want {
			t.Errorf("forwardPath(%q, %q) = %q, want %q", tc.base, tc.sub, got, tc.want)
		}
	}
}

// FuzzRebaseLocation: whatever Location another node answers, the client
// gets it unchanged or an upload URL on the client's own host.
func FuzzRebaseLocation(f *testing.F) {
	f.Add("http://node1.example/api/v1/uploads/7-3-s-0123456789abcdef0123456789abcdef")
	f.Add("http://node1.example/api/v1/uploads/../../admin")
	f.Add("/api/v1/uploads/1-1-f0123456789abcdef-0123456789abcdef0123456789abcdef")
	f.Add("%zz")
	f.Fuzz(func(t *testing.T, loc string) {
		const base = "https://campus.example"
		got := rebaseLocation(loc, base)
		if got == loc {
			return
		}
		id, ok := strings.CutPrefix(got, base+tusBasePath)
		if !ok {
			t.Fatalf("rebaseLocation(%q) = %q: not on the client's host", loc, got)
		}
		if _, err := parseTusID(id); err != nil {
			t.Fatalf("rebaseLocation(%q) = %q: not an upload URL: %v", loc, got, err)
		}
		if u, err := url.Parse(got); err != nil || u.Host != "campus.example" {
			t.Fatalf("rebaseLocation(%q) = %q does not parse to the client's host", loc, got)
		}
	})
}
