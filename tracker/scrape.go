package tracker

import (
	"context"
	"fmt"
)

// Scrape is the protocol-independent scrape logic (BEP 48): it checks the
// passkey and appends one ScrapeFile per requested infohash to resp.Files,
// in request order. Unregistered infohashes get Registered=false and zero
// counts. With no infohash it answers nothing: it never dumps every swarm.
func (t *Tracker) Scrape(ctx context.Context, req *ScrapeRequest, resp *ScrapeResponse) error {
	if _, err := t.access.authorize(req.Passkey); err != nil {
		return err
	}
	for _, ih := range req.InfoHashes {
		f := ScrapeFile{InfoHash: ih}
		if _, ok := t.access.Torrent(ih); ok {
			c, err := t.store.Counts(ctx, ih)
			if err != nil {
				return fmt.Errorf("scrape counts: %w", err)
			}
			f.Registered, f.SwarmCounts = true, c
		}
		resp.Files = append(resp.Files, f)
	}
	return nil
}
