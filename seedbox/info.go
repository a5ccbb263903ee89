package seedbox

import (
	"fmt"

	"github.com/anacrolix/torrent/bencode"
	"github.com/anacrolix/torrent/metainfo"
)

func infoUnmarshal(b []byte, info *metainfo.Info) error {
	if err := bencode.Unmarshal(b, info); err != nil {
		return fmt.Errorf("decode info dict: %w", err)
	}
	return nil
}
