// Command trackerfixture prepares the catalog behind bench/tracker.sh: N users
// (each with a passkey) and M torrents in a fresh SQLite catalog, and writes
// the passkeys and infohashes as text files for the load generators and for
// opentracker's whitelist.
//
// Each torrent has a real, minimal private info dict (one file, one piece of
// random-looking hash) and its infohash is the SHA-1 of that dict, as for any
// torrent; only the content does not exist.
package main

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/seedbed/seedbed/catalog"
)

func main() {
	data := flag.String("data", "", "data directory of the catalog (seedbed.db is created in it)")
	users := flag.Int("users", 1000, "number of users (passkeys)")
	torrents := flag.Int("torrents", 100000, "number of torrents")
	out := flag.String("out", ".", "directory for passkeys.txt and infohashes.txt")
	dbURL := flag.String("database-url", "", "postgres://… catalog to fill instead of SQLite in -data (it must be empty)")
	flag.Parse()
	if *data == "" || *users < 1 || *torrents < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(context.Background(), catalog.Options{DataDir: *data, URL: *dbURL}, *out, *users, *torrents); err != nil {
		log.Fatalf("trackerfixture: %v", err)
	}
}

func run(ctx context.Context, opts catalog.Options, out string, nUsers, nTorrents int) error {
	cat, err := catalog.Open(ctx, opts)
	if err != nil {
		return err
	}
	defer cat.Close()
	names := make([]string, nUsers)
	for i := range names {
		names[i] = fmt.Sprintf("bench%07d", i)
	}
	us, err := cat.BulkCreateUsers(ctx, names, catalog.RoleUser)
	if err != nil {
		return err
	}
	ts := make([]catalog.Torrent, nTorrents)
	for i := range ts {
		ts[i] = benchTorrent(i, us[i%len(us)].ID)
	}
	if err := cat.BulkCreateTorrents(ctx, ts); err != nil {
		return err
	}
	if err := writeLines(filepath.Join(out, "passkeys.txt"), len(us), func(i int) string { return us[i].Passkey }); err != nil {
		return err
	}
	return writeLines(filepath.Join(out, "infohashes.txt"), len(ts), func(i int) string { return ts[i].InfoHash })
}

// benchTorrent is torrent i: a 1 MiB single file in one piece.
func benchTorrent(i int, uploader uint64) catalog.Torrent {
	const size = 1 << 20
	name := fmt.Sprintf("bench-%07d.bin", i)
	piece := sha1.Sum([]byte(name))
	info := fmt.Appendf(nil, "d6:lengthi%de4:name%d:%s12:piece lengthi%de6:pieces20:%s7:privatei1ee",
		size, len(name), name, size, piece[:])
	ih := sha1.Sum(info)
	m := md5.Sum([]byte(name))
	return catalog.Torrent{
		InfoHash: hex.EncodeToString(ih[:]), Name: name, Size: size, MD510M: hex.EncodeToString(m[:]),
		PieceLength: size, Pieces: piece[:], InfoBytes: info, SingleFile: true, UploaderID: uploader,
		Files: []catalog.File{{Path: name, Size: size}},
	}
}

func writeLines(path string, n int, line func(int) string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i := range n {
		fmt.Fprintln(w, line(i))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
