package portal

import "testing"

// TestRequestedSpan: the span of a file a Range header asks for.
func TestRequestedSpan(t *testing.T) {
	for _, tc := range []struct {
		h      string
		lo, hi int64
	}{
		{"", 0, 1000},
		{"bytes=0-99", 0, 100},
		{"bytes=500-", 500, 1000},
		{"bytes=-100", 900, 1000},
		{"bytes=10-19, 700-799", 10, 800},
		{"bytes=900-5000", 900, 1000},
		{"bytes=abc", 0, 1000},
		{"items=0-1", 0, 1000},
		{"bytes=2000-3000", 0, 0},
	} {
		if lo, hi := requestedSpan(tc.h, 1000); lo != tc.lo || hi != tc.hi {
			t.Errorf("%q: [%d, %d), want [%d, %d)", tc.h, lo, hi, tc.lo, tc.hi)
		}
	}
}

// FuzzRequestedSpan: whatever the Range header, the span lies within the
// file.
func FuzzRequestedSpan(f *testing.F) {
	for _, s := range []string{"", "bytes=0-99", "bytes=-5", "bytes=5-", "bytes=1-2,4-9", "bytes=-", "bytes=9-1"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, h string, size int64) {
		if size < 0 {
			size = -size
		}
		if size < 0 {
			return
		}
		lo, hi := requestedSpan(h, size)
		if lo < 0 || hi < lo || hi > size {
			t.Fatalf("%q on %d bytes: [%d, %d)", h, size, lo, hi)
		}
	})
}
