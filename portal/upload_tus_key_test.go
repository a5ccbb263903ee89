package portal

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// Tries of one creation with the same Seedbed-Upload-Key get one upload;
// another user's same key, or another key, gets another; a malformed key
// and a key reused for another length are refused.
func TestTusCreationKeyIsIdempotent(t *testing.T) {
	h := newTusHarness(t)
	create := func(token, key string, size int) (int, string) {
		hdr := map[string]string{"Upload-Length": strconv.Itoa(size), "Upload-Metadata": tusMeta("filename", "k.bin")}
		if key != "" {
			hdr[headerUploadKey] = key
		}
		r := h.req(t, "POST", "/api/v1/uploads/", token, nil, hdr)
		return r.StatusCode, r.Header.Get("Location")
	}
	code, first := create(h.token, "key-0123456789abcdef", 100)
	if code != 201 || first == "" {
		t.Fatalf("first try: %d %q", code, first)
	}
	if code, again := create(h.token, "key-0123456789abcdef", 100); code != 201 || again != first {
		t.Errorf("second try: %d %q, want 201 %q", code, again, first)
	}
	if code, other := create(h.token, "key-fedcba9876543210", 100); code != 201 || other == first {
		t.Errorf("another key: %d %q", code, other)
	}
	bob, _ := h.cat.CreateUser(t.Context(), "bob", "correct horse", "user")
	bobTok, _ := h.cat.CreateToken(t.Context(), bob.ID, "t")
	if code, bobs := create(bobTok, "key-0123456789abcdef", 100); code != 201 || bobs == first {
		t.Errorf("another user's same key: %d %q", code, bobs)
	}
	if code, _ := create(h.token, "key-0123456789abcdef", 200); code != 422 {
		t.Errorf("key reused for another length: %d, want 422", code)
	}
	for _, bad := range []string{"short", "has space 0123456789", "slash/0123456789"} {
		if code, _ := create(h.token, bad, 100); code != 400 {
			t.Errorf("key %q: %d, want 400", bad, code)
		}
	}
	// The upload continues from the first try's Location; after it is
	// finished, a late try still names the same upload and its torrent.
	data := pattern(100, 3)
	done := h.send(t, first, data, 0, 60)
	ih := done.Header.Get(headerInfoHash)
	if ih == "" {
		t.Fatalf("finished upload names no torrent")
	}
	r := h.req(t, "POST", "/api/v1/uploads/", h.token, nil, map[string]string{"Upload-Length": "100",
		"Upload-Metadata": tusMeta("filename", "k.bin"), headerUploadKey: "key-0123456789abcdef"})
	if r.StatusCode != 201 || r.Header.Get("Location") != first || r.Header.Get(headerInfoHash) != ih {
		t.Errorf("try after the finish: %d %q %q", r.StatusCode, r.Header.Get("Location"), r.Header.Get(headerInfoHash))
	}
}

// FuzzCreationKey: any Seedbed-Upload-Key is refused or becomes the 32 hex
// digits of an upload ID's random part, never anything else.
func FuzzCreationKey(f *testing.F) {
	for _, s := range []string{"", "key-0123456789abcdef", "short", "has space 0123456789", "ключ-0123456789", strings.Repeat("a", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		r := httptest.NewRequest("POST", "/api/v1/uploads/", nil)
		r.Header.Set(headerUploadKey, key)
		rnd, err := creationKey(r, 7)
		switch {
		case err != nil:
			if rnd != "" {
				t.Fatalf("refused key %q gave %q", key, rnd)
			}
		case r.Header.Get(headerUploadKey) == "":
			if rnd != "" {
				t.Fatalf("no key gave %q", rnd)
			}
		default:
			if len(rnd) != 32 || strings.Trim(rnd, "0123456789abcdef") != "" {
				t.Fatalf("key %q gave %q", key, rnd)
			}
			if _, err := parseTusID("1-7-s-" + rnd); err != nil {
				t.Fatalf("key %q gave an ID part parseTusID refuses: %v", key, err)
			}
		}
	})
}
