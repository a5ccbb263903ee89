package catalog

import (
	"strings"
	"unicode"

	"gorm.io/gorm"
)

// Full-text search. A query is split into words of letters and digits
// (punctuation separates words, as the index tokenizers do: "lecture_01.pdf"
// is lecture, 01 and pdf). A torrent matches when every word occurs in its
// title, name, description or one of its file paths; a word of two or more
// characters also matches longer words it begins ("linea" finds "linear").
//
// SQLite: the FTS5 table torrent_text (rowid = torrent id) over title,
// name, description and search_paths, kept by triggers (migration 0004).
// PostgreSQL: the generated tsvector column torrents.search, GIN-indexed.

// searchWords returns the query's distinct words, lowercased, at most
// maxQueryWords.
func searchWords(q string) []string {
	fields := strings.FieldsFunc(strings.ToLower(q), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	var words []string
	seen := map[string]bool{}
	for _, w := range fields {
		if seen[w] {
			continue
		}
		seen[w] = true
		words = append(words, w)
		if len(words) == maxQueryWords {
			break
		}
	}
	return words
}

// ftsTerm is one word as an FTS5 query (a quoted string; a prefix query for
// two characters or more). Words hold only letters and digits, so quoting
// cannot be escaped.
func ftsTerm(w string) string {
	if len([]rune(w)) >= 2 {
		return `"` + w + `"*`
	}
	return `"` + w + `"`
}

// tsTerm is one word as a PostgreSQL tsquery.
func tsTerm(w string) string {
	if len([]rune(w)) >= 2 {
		return w + ":*"
	}
	return w
}

// searchFilter restricts db (a query on torrents) to torrents matching
// every word. On SQLite, byRowid joins the full-text table so a
// newest-first page walks its matches in rowid order and stops after a
// page; other orders use IN (...), so the planner may walk the order's
// index and probe the matches instead of sorting them all.
func (c *Catalog) searchFilter(db *gorm.DB, words []string, byRowid bool) *gorm.DB {
	if len(words) == 0 {
		return db
	}
	if c.dialect == DialectPostgres {
		// The tsquery goes into the SQL text, not into a bound parameter:
		// pgx prepares and caches statements, and PostgreSQL may then
		// switch one statement to a generic plan for every search, which
		// cannot know how many rows a tsquery matches. It guesses 500, so
		// a word every torrent has ("pdf") got a GIN bitmap of all of them
		// and a sort (25 ms median) instead of walking the id index until
		// a page is full (2 ms). Words hold only letters and digits
		// (searchWords), so the literal needs no escaping.
		return db.Where("torrents.search @@ to_tsquery('simple', '" + tsQuery(words) + "')")
	}
	if byRowid {
		return db.Joins("JOIN torrent_text ON torrent_text.rowid = torrents.id").Where("torrent_text MATCH ?", ftsQuery(words))
	}
	return db.Where("torrents.id IN (SELECT rowid FROM torrent_text WHERE torrent_text MATCH ?)", ftsQuery(words))
}

// ftsQuery is the FTS5 query of every word.
func ftsQuery(words []string) string {
	terms := make([]string, len(words))
	for i, w := range words {
		terms[i] = ftsTerm(w)
	}
	return strings.Join(terms, " AND ")
}

// tsQuery is the PostgreSQL tsquery of every word.
func tsQuery(words []string) string {
	terms := make([]string, len(words))
	for i, w := range words {
		terms[i] = tsTerm(w)
	}
	return strings.Join(terms, " & ")
}

// countSearchOnly counts the matches of a search with no other filter from
// the full-text index alone (SQLite keeps only torrents that are not
// deleted in it), up to CountCap+1; ok is false when it cannot.
func (c *Catalog) countSearchOnly(db *gorm.DB, q ListQuery, words []string) (n int64, ok bool, err error) {
	if c.dialect != DialectSQLite || len(words) == 0 || q.Category != "" || q.UploaderID != 0 || q.State != "" {
		return 0, false, nil
	}
	err = db.Raw("SELECT count(*) FROM (SELECT rowid FROM torrent_text WHERE torrent_text MATCH ? LIMIT ?)",
		ftsQuery(words), CountCap+1).Scan(&n).Error
	return n, true, err
}

// maxSearchPaths caps the file paths indexed per torrent: a torrent of
// 100,000 files is found by its first few hundred paths and its title.
const maxSearchPaths = 16 << 10

// searchPaths is the torrents.search_paths column: the file paths, one per
// line, cut at a line end before maxSearchPaths bytes.
func searchPaths(files []File) string {
	var b strings.Builder
	for _, f := range files {
		if b.Len()+len(f.Path)+1 > maxSearchPaths {
			break
		}
		if b.Len() > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(f.Path)
	}
	return b.String()
}
