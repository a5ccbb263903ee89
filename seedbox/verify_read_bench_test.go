package seedbox

import (
	"context"
	"testing"

	"github.com/anacrolix/torrent/metainfo"
	"github.com/anacrolix/torrent/storage"
)

// BenchmarkServeRead reads a 64 MiB torrent the way the seeder serves it,
// 16 KiB blocks piece after piece, from the plain file storage and through
// the verifying storage: cold (each piece hashed before its first block)
// and hot (the pieces were verified before and their files did not change,
// so they are trusted): the price of never serving a corrupt piece.
func BenchmarkServeRead(b *testing.B) {
	v := testVolume(b, "v1")
	tt := storeTorrent(b, v, "big", map[string][]byte{"x.bin": randBytes(64<<20, 5)}, 256<<10)
	var ih metainfo.Hash
	ih.FromHexString(tt.ih)
	files := func() storage.ClientImpl {
		return storage.NewFileOpts(storage.NewFileClientOpts{
			ClientBaseDir: v.Path,
			TorrentDirMaker: func(base string, _ *metainfo.Info, ih metainfo.Hash) string {
				return TorrentDir(base, ih.HexString())
			},
			PieceCompletion: storage.NewMapPieceCompletion(),
		})
	}
	hot := NewPieceTrust(0)
	for _, bc := range []struct {
		name string
		st   func() storage.ClientImpl
	}{
		{"plain", files},
		// Every piece hashed: the first read of each piece of a replica.
		{"verified-cold", func() storage.ClientImpl {
			return &verifyingStorage{inner: files(), volume: "v1", root: v.Path, trust: NewPieceTrust(0)}
		}},
		// One trust for every pass: a hot swarm reading pieces verified
		// before, whose files did not change.
		{"verified-hot", func() storage.ClientImpl {
			return &verifyingStorage{inner: files(), volume: "v1", root: v.Path, trust: hot}
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			buf := make([]byte, 16<<10)
			b.SetBytes(tt.info.TotalLength())
			for b.Loop() {
				ti, err := bc.st().OpenTorrent(context.Background(), tt.info, ih)
				if err != nil {
					b.Fatal(err)
				}
				for i := range tt.info.NumPieces() {
					p := ti.Piece(tt.info.Piece(i))
					for off := int64(0); off < tt.info.Piece(i).Length(); off += int64(len(buf)) {
						if _, err := p.ReadAt(buf, off); err != nil {
							b.Fatal(err)
						}
					}
				}
				ti.Close()
			}
		})
	}
}
