package catalog

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// SwarmCount is a torrent's seeders and leechers as the tracker counts them.
type SwarmCount struct {
	TorrentID         uint64
	InfoHash          string
	Seeders, Leechers int64
}

// SwarmCounts returns the stored counts of every torrent that is not
// deleted, by id: what SetSwarmCounts last wrote.
func (c *Catalog) SwarmCounts(ctx context.Context) ([]SwarmCount, error) {
	var rows []SwarmCount
	err := c.read(ctx).Raw(`SELECT id AS torrent_id, info_hash, seeders, leechers FROM torrents WHERE state <> ? ORDER BY id`,
		string(StateDeleted)).Scan(&rows).Error
	if err != nil {
		return nil, dbErr("swarm counts", err)
	}
	return rows, nil
}

// swarmCountBatch is how many rows one SetSwarmCounts transaction writes, so
// the SQLite writer is never held long.
const swarmCountBatch = 500

// SetSwarmCounts stores the counts the tracker reported (by TorrentID) so
// lists can be sorted by seeders in SQL. It leaves updated_at alone: the
// tracker's change feed is not flooded.
func (c *Catalog) SetSwarmCounts(ctx context.Context, counts []SwarmCount) error {
	for start := 0; start < len(counts); start += swarmCountBatch {
		batch := counts[start:min(start+swarmCountBatch, len(counts))]
		err := c.tx(ctx, func(tx *gorm.DB) error {
			for _, s := range batch {
				if s.Seeders < 0 || s.Leechers < 0 {
					return invalid("counts", fmt.Sprintf("negative count for torrent %d", s.TorrentID))
				}
				if err := tx.Exec(`UPDATE torrents SET seeders = ?, leechers = ? WHERE id = ?`,
					s.Seeders, s.Leechers, s.TorrentID).Error; err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return dbErr("set swarm counts", err)
		}
	}
	return nil
}
