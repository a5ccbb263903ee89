package catalog

import (
	"context"
	"fmt"
)

// DeletedReplicasOnNode lists the replicas on a node's volumes whose torrent
// was deleted: data the node must stop seeding and remove. A delete marks the
// torrent first (SetTorrentState) and the node removes the files and then
// the replica row (DeleteReplica), so a crash in between leaves a row here
// and the next pass finishes the job: no orphan files, no half-deleted rows.
func (c *Catalog) DeletedReplicasOnNode(ctx context.Context, node string) ([]Placement, error) {
	return c.placementsOnNode(ctx, node, "t.state = ?", string(StateDeleted), "deleted replicas")
}

// placementsOnNode lists the replicas on node's volumes that match cond (an
// SQL condition on replicas r and torrents t with one argument), in torrent
// then volume order; what names them in errors.
func (c *Catalog) placementsOnNode(ctx context.Context, node, cond string, arg any, what string) ([]Placement, error) {
	var rows []Placement
	err := c.read(ctx).Raw(`SELECT t.id AS torrent_id, t.info_hash, v.name AS volume_name, v.id AS volume_id
FROM replicas r
JOIN torrents t ON t.id = r.torrent_id
JOIN volumes v ON v.id = r.volume_id
WHERE r.node = ? AND `+cond+`
ORDER BY t.id, v.id`, node, arg).Scan(&rows).Error
	if err != nil {
		return nil, dbErr(fmt.Sprintf("%s on node %q", what, node), err)
	}
	return rows, nil
}
