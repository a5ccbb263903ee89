package ingest

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"slices"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

// ErrEmpty is wrapped by the error for an upload without content: no files,
// or only empty files. A torrent needs at least one piece.
var ErrEmpty = errors.New("empty upload")

// A File of a torrent: sanitized path components relative to the torrent
// root, and its length.
type File struct {
	Path   []string
	Length int64
}

// BuildInfo builds the private v1 info dictionary (BEP 3, with "private" set
// to 1 as BEP 27 defines) for content hashed into s, and returns it with its
// bencoding and infohash (SHA-1 of the bencoding).
//
// A single-file torrent (single) has exactly one file, whose content is the
// whole torrent; its Path is ignored and the info dict gets "length". A
// multi-file torrent gets "files" with the paths of files, in the order given,
// which must be the order in which their bytes were hashed.
func BuildInfo(name string, files []File, single bool, s Sums) (metainfo.Info, []byte, metainfo.Hash, error) {
	if err := checkInfo(name, files, single, s); err != nil {
		return metainfo.Info{}, nil, metainfo.Hash{}, fmt.Errorf("build info: %w", err)
	}
	private := true
	info := metainfo.Info{
		Name:        name,
		PieceLength: s.PieceLength,
		Pieces:      s.Pieces,
		Private:     &private,
	}
	if single {
		info.Length = s.Length
	} else {
		info.Files = make([]metainfo.FileInfo, len(files))
		for i, f := range files {
			info.Files[i] = metainfo.FileInfo{Path: slices.Clone(f.Path), Length: f.Length}
		}
	}
	b, err := bencode.Marshal(info)
	if err != nil {
		return metainfo.Info{}, nil, metainfo.Hash{}, fmt.Errorf("build info: marshal: %w", err)
	}
	return info, b, metainfo.HashBytes(b), nil
}

// checkInfo refuses inputs that would give an invalid or inconsistent info
// dict.
func checkInfo(name string, files []File, single bool, s Sums) error {
	if err := checkTorrentName(name); err != nil {
		return fmt.Errorf("torrent name: %w", err)
	}
	if err := checkFiles(files, single, s.Length); err != nil {
		return err
	}
	if s.PieceLength <= 0 {
		return fmt.Errorf("piece length %d is not positive", s.PieceLength)
	}
	if want := numPieces(s.Length, s.PieceLength) * sha1.Size; int64(len(s.Pieces)) != want {
		return fmt.Errorf("%d bytes of piece hashes for %d bytes in pieces of %d, want %d",
			len(s.Pieces), s.Length, s.PieceLength, want)
	}
	return nil
}

func checkFiles(files []File, single bool, length int64) error {
	if single && len(files) != 1 {
		return fmt.Errorf("single-file torrent with %d files", len(files))
	}
	var total int64
	for _, f := range files {
		if f.Length < 0 {
			return fmt.Errorf("file %q has negative length", f.Path)
		}
		if !single {
			if err := checkFilePath(f.Path); err != nil {
				return err
			}
		}
		total += f.Length
	}
	if total == 0 {
		return ErrEmpty
	}
	if total != length {
		return fmt.Errorf("files total %d bytes but %d were hashed", total, length)
	}
	return nil
}

func checkFilePath(path []string) error {
	if len(path) == 0 || len(path) > MaxComponents {
		return badName(fmt.Sprint(path), "bad number of path components")
	}
	for _, c := range path {
		if err := checkComponent(c); err != nil {
			return badName(fmt.Sprint(path), err.Error())
		}
		if err := checkText(c); err != nil {
			return badName(fmt.Sprint(path), err.Error())
		}
	}
	return nil
}
