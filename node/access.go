package node

import (
	"context"
	"encoding/hex"
	"time"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/tracker"
)

// accessPoll is how often the tracker's in-memory passkeys and allow-list are
// refreshed from the catalog; changes made on another node or by the CLI are
// honoured within this delay.
const accessPoll = 500 * time.Millisecond

// watchAccess keeps n.Access in step with the catalog until ctx ends. It
// goes on from the watermark of the full load Serve did at start, so the
// whole catalog is not read a second time.
func (n *Node) watchAccess(ctx context.Context) error {
	since := n.accessSince
	tick := time.NewTicker(accessPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if err := n.syncAccess(ctx, since); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			n.log.Warn("refresh tracker access", "err", err)
			continue
		}
		since = n.accessSince
	}
}

// syncAccess applies every change since the watermark.
func (n *Node) syncAccess(ctx context.Context, since time.Time) error {
	users, torrents, revoked, mark, err := n.Catalog.TrackerChanges(ctx, since)
	if err != nil {
		return err
	}
	for _, u := range users {
		n.Access.PutUser(u.Passkey, tracker.User{ID: u.UserID, Seedbox: u.Seedbox, Disabled: u.Disabled})
	}
	for _, t := range torrents {
		ih, ok := hash20(t.InfoHash)
		if !ok {
			continue
		}
		if t.Allowed {
			n.Access.Allow(ih, t.TorrentID)
		} else {
			n.Access.Disallow(ih)
		}
	}
	// Revoked passkeys last: a rotation reports the new key among users.
	for _, pk := range revoked {
		n.Access.RemovePasskey(pk)
	}
	n.accessSince = mark
	return nil
}

func hash20(s string) (ih [20]byte, ok bool) {
	if len(s) != 40 {
		return ih, false
	}
	_, err := hex.Decode(ih[:], []byte(s))
	return ih, err == nil
}

// passkeys adapts the tracker's access list for the web seed.
type passkeys struct{ a *tracker.Access }

func (p passkeys) Valid(passkey string) bool {
	u, ok := p.a.User(passkey)
	return ok && !u.Disabled
}

// statsSink flushes the tracker's accounting into the catalog.
type statsSink struct{ c *catalog.Catalog }

func (s statsSink) Flush(ctx context.Context, deltas []tracker.StatDelta) error {
	out := make([]catalog.StatDelta, 0, len(deltas))
	for _, d := range deltas {
		out = append(out, catalog.StatDelta{UserID: d.UserID, TorrentID: d.TorrentID,
			Uploaded: d.Uploaded, Downloaded: d.Downloaded, Completed: d.Completed, Leeching: d.Leeching})
	}
	return s.c.ApplyStats(ctx, out)
}
