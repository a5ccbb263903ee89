package catalog

import (
	"context"
	"time"
)

// PasskeyEntry is what the tracker keeps in memory per user.
type PasskeyEntry struct {
	Passkey  string
	UserID   uint64
	Disabled bool
	Seedbox  bool
}

// TorrentEntry is what the tracker keeps in memory per torrent. Allowed is
// true for active and purged torrents (a purged torrent's swarm lives on
// among the students who have it), false for deleted ones.
type TorrentEntry struct {
	InfoHash  string
	TorrentID uint64
	Allowed   bool
}

// FeedOverlap is how far behind the query time TrackerChanges puts its
// watermark. A write stamped at time T must commit before T+FeedOverlap, and
// the clocks of nodes sharing a PostgreSQL catalog must agree to well within
// it, or the feed can miss the write.
const FeedOverlap = 2 * time.Second

// TrackerChanges is the tracker's change feed. It returns every user and
// torrent whose updated_at is after since (the zero time: all of them), the
// passkeys revoked after since (by RotatePasskey; the tracker must forget
// them), and the watermark to pass as since next time.
//
// The watermark is the time the query started minus FeedOverlap (never
// before since), so a transaction that stamped its rows just before the
// query but committed just after it is still seen by the next call. Rows
// changed within the last FeedOverlap are therefore delivered more than
// once; applying an entry twice must be harmless.
//
// Apply users and torrents first, then drop the revoked passkeys: revoked is
// read last, so a user row read with a passkey that was rotated meanwhile
// still has it revoked. (Keeping userID -> passkey and replacing the old key
// when a user's entry arrives works too.) Accounting (ApplyStats)
// does not touch updated_at, so transfer counters do not flood the feed.
func (c *Catalog) TrackerChanges(ctx context.Context, since time.Time) (users []PasskeyEntry, torrents []TorrentEntry, revoked []string, watermark time.Time, err error) {
	since = since.UTC()
	started := now()
	db := c.read(ctx)
	err = db.Raw("SELECT passkey, id AS user_id, disabled, seedbox FROM users WHERE updated_at > ? ORDER BY id", since).
		Scan(&users).Error
	if err != nil {
		return nil, nil, nil, since, dbErr("tracker changes: users", err)
	}
	var rows []struct {
		InfoHash  string
		TorrentID uint64
		State     string
	}
	err = db.Raw("SELECT info_hash, id AS torrent_id, state FROM torrents WHERE updated_at > ? ORDER BY id", since).
		Scan(&rows).Error
	if err != nil {
		return nil, nil, nil, since, dbErr("tracker changes: torrents", err)
	}
	err = db.Raw("SELECT passkey FROM revoked_passkeys WHERE revoked_at > ? ORDER BY revoked_at", since).
		Scan(&revoked).Error
	if err != nil {
		return nil, nil, nil, since, dbErr("tracker changes: revoked passkeys", err)
	}
	torrents = make([]TorrentEntry, len(rows))
	for i, r := range rows {
		torrents[i] = TorrentEntry{InfoHash: r.InfoHash, TorrentID: r.TorrentID,
			Allowed: r.State == string(StateActive) || r.State == string(StatePurged)}
	}
	watermark = started.Add(-FeedOverlap)
	if watermark.Before(since) {
		watermark = since
	}
	return users, torrents, revoked, watermark, nil
}
