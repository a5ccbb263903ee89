// Package ingest turns uploaded bytes into the content of a private
// BitTorrent v1 torrent.
//
// It stages the files of one upload on disk (Upload), hashes them while they
// arrive (Hasher: SHA-1 of every piece as BEP 3 defines them, plus an MD5 of
// the first DedupePrefix bytes used as a cheap duplicate key), refuses unsafe
// file names (SanitizePath), and builds the info dictionary with the private
// flag of BEP 27 set (BuildInfo).
//
// The layout of a finished upload is deterministic: files are sorted by their
// path inside the torrent and the piece length depends only on the total size
// (PieceLength), so the same content always yields the same pieces, whatever
// order the files arrived in.
//
// The package knows nothing about HTTP: it takes io.Readers and paths.
//
// References:
//   - BEP 3, The BitTorrent Protocol Specification (metainfo files, info
//     dictionary, pieces): https://www.bittorrent.org/beps/bep_0003.html
//   - BEP 27, Private Torrents: https://www.bittorrent.org/beps/bep_0027.html
package ingest
