package catalog

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"
)

// benchVocabulary is the word list titles, descriptions and paths are drawn
// from, with a skewed distribution (low indexes are common words).
func benchVocabulary() []string {
	base := []string{"linear", "algebra", "lecture", "notes", "exam", "physics", "chemistry", "history", "debian",
		"ubuntu", "movie", "season", "episode", "album", "live", "concert", "python", "course", "slides", "lab",
		"report", "thesis", "dataset", "images", "scan", "book", "chapter", "week", "solutions", "homework"}
	words := slices.Clone(base)
	for i := range 2000 {
		words = append(words, fmt.Sprintf("w%dx", i))
	}
	return words
}

func benchWord(r *rand.Rand, vocab []string) string {
	// Squaring a uniform draw favours low indexes: a few common words, a
	// long tail of rare ones.
	f := r.Float64()
	return vocab[int(f*f*float64(len(vocab)))]
}

// loadBenchTorrents inserts n torrents with two files each straight in SQL,
// 500 rows a statement (CreateTorrent would take minutes for 100,000). The
// search triggers (SQLite) and generated columns (PostgreSQL) index them as
// in production.
func loadBenchTorrents(tb testing.TB, c *Catalog, n int) {
	ctx := context.Background()
	u, err := c.CreateUser(ctx, "bencher", "password123", RoleUser)
	if err != nil {
		tb.Fatal(err)
	}
	vocab := benchVocabulary()
	cats := []string{"Course material", "Software", "Video", "Audio", "Books", "Images", "Other"}
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	pieces, info := make([]byte, 200), make([]byte, 300)
	const batch = 500
	for lo := 0; lo < n; lo += batch {
		var trows []torrentRow
		var paths []string
		for i := lo; i < min(lo+batch, n); i++ {
			ih := sha1.Sum([]byte("bench" + strconv.Itoa(i)))
			title := benchWord(r, vocab) + " " + benchWord(r, vocab) + " " + benchWord(r, vocab) + " " + strconv.Itoa(i)
			ts := start.Add(time.Duration(i) * time.Minute)
			state := string(StateActive)
			if i%50 == 0 {
				state = string(StatePurged)
			}
			trows = append(trows, torrentRow{InfoHash: hex.EncodeToString(ih[:]), Name: "t" + strconv.Itoa(i),
				Title: title, Category: cats[r.IntN(len(cats))], Description: benchWord(r, vocab) + " " + benchWord(r, vocab),
				Size: r.Int64N(50 << 30), MD510M: strings.Repeat("0", 32), PieceLength: 1 << 20, Pieces: pieces,
				InfoBytes: info, State: state, UploaderID: u.ID, Snatches: r.Int64N(500), CreatedAt: ts, UpdatedAt: ts})
			p := benchWord(r, vocab) + "/" + benchWord(r, vocab) + ".pdf"
			paths = append(paths, p)
			trows[len(trows)-1].SearchPaths = searchPaths([]File{{Path: p}, {Path: "readme.txt"}})
		}
		err := c.tx(ctx, func(tx *gorm.DB) error {
			if err := tx.Create(&trows).Error; err != nil {
				return err
			}
			var frows []fileRow
			for i, t := range trows {
				frows = append(frows, fileRow{TorrentID: t.ID, Idx: 0, Path: paths[i], Size: 1},
					fileRow{TorrentID: t.ID, Idx: 1, Path: "readme.txt", Size: 1})
			}
			if err := tx.CreateInBatches(frows, batch).Error; err != nil {
				return err
			}
			for _, t := range trows {
				if err := tx.Exec("UPDATE torrents SET seeders = ?, leechers = ? WHERE id = ?", r.IntN(40), r.IntN(10), t.ID).Error; err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	// What autovacuum (PostgreSQL) or an operator's ANALYZE would have done
	// after such a load: planner statistics, and the visibility map that
	// lets PostgreSQL count from an index alone.
	stmt := "ANALYZE"
	if c.dialect == DialectPostgres {
		stmt = "VACUUM ANALYZE"
	}
	if err := c.w.Exec(stmt).Error; err != nil {
		tb.Fatal(err)
	}
}

// TestBenchBrowseSearch measures browse and search latency (p50, p99) with
// SEEDBED_BENCH_TORRENTS torrents (default 100,000) on SQLite and
// PostgreSQL. Run with SEEDBED_BENCH=1 (make bench); the target is a p99
// under 50 ms.
func TestBenchBrowseSearch(t *testing.T) {
	if os.Getenv("SEEDBED_BENCH") != "1" {
		t.Skip("set SEEDBED_BENCH=1 to run the browse and search benchmark")
	}
	n := 100_000
	if s := os.Getenv("SEEDBED_BENCH_TORRENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	queries := []ListQuery{
		{}, {Sort: "seeders"}, {Sort: "size"}, {Sort: "completed"}, {Sort: "name"},
		{Category: "Books"}, {Category: "Video", Sort: "seeders"}, {Page: 20},
		{Query: "linear"}, {Query: "lecture notes"}, {Query: "w1500x"}, {Query: "alg"},
		{Query: "python", Sort: "seeders"}, {Query: "chapter", Category: "Books"}, {Query: "pdf"},
	}
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			c, err := Open(context.Background(), Options{URL: testURL(t, d),
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			began := time.Now()
			loadBenchTorrents(t, c, n)
			t.Logf("%s: loaded %d torrents in %v", d, n, time.Since(began).Round(time.Second))
			ctx := context.Background()
			const rounds = 20
			for _, q := range queries { // warm the caches, as a running portal's are
				if _, _, err := c.ListTorrents(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			all := map[string][]time.Duration{}
			for range rounds {
				for _, q := range queries {
					kind := "browse"
					if q.Query != "" {
						kind = "search"
					}
					t0 := time.Now()
					if _, _, err := c.ListTorrents(ctx, q); err != nil {
						t.Fatal(err)
					}
					all[kind] = append(all[kind], time.Since(t0))
				}
			}
			for _, kind := range []string{"browse", "search"} {
				ds := all[kind]
				slices.Sort(ds)
				t.Logf("%s %s: %d queries, p50 %v, p99 %v, max %v", d, kind, len(ds),
					ds[len(ds)/2].Round(10*time.Microsecond), ds[len(ds)*99/100].Round(10*time.Microsecond), ds[len(ds)-1].Round(10*time.Microsecond))
			}
			// Median per query shape, for the write-up.
			for _, q := range queries {
				var ds []time.Duration
				for range 5 {
					t0 := time.Now()
					c.ListTorrents(ctx, q)
					ds = append(ds, time.Since(t0))
				}
				slices.Sort(ds)
				t.Logf("  %-55s median %v", fmt.Sprintf("%+v", q), ds[2].Round(10*time.Microsecond))
			}
		})
	}
}
