package portal

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// reservedIDs lists the catalog's reservations of node n1.
func (h *tusHarness) reservedIDs(t *testing.T) []string {
	t.Helper()
	rs, err := h.cat.UploadReservations(context.Background(), "n1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.UploadID)
	}
	return ids
}

// A resumable upload holds a reservation in the catalog from its creation
// until it becomes a torrent; one terminated, or whose files are gone
// (swept, lost to a crash), is released; and the sweep expires any node's
// reservation without progress for the maximum age.
func TestTusReservationLifecycle(t *testing.T) {
	h := newTusHarness(t)
	ctx := context.Background()
	data := pattern(100_000, 3)
	loc := h.create(t, len(data), tusMeta("filename", "kept.bin"))
	id := loc[strings.LastIndex(loc, "/")+1:]
	if got := h.reservedIDs(t); len(got) != 1 || got[0] != id {
		t.Fatalf("after the creation: reservations %v, want [%s]", got, id)
	}
	if resp := h.send(t, loc, data, 0, 40_000); resp.Header.Get(headerInfoHash) == "" {
		t.Fatalf("the upload did not finish: %d", resp.StatusCode)
	}
	if got := h.reservedIDs(t); len(got) != 0 {
		t.Fatalf("after the upload finished: reservations %v, want none", got)
	}

	// Terminated.
	loc = h.create(t, 5000, tusMeta("filename", "dropped.bin"))
	if resp := h.req(t, "DELETE", loc, h.token, nil, nil); resp.StatusCode != 204 {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	if got := h.reservedIDs(t); len(got) != 0 {
		t.Fatalf("after a termination: reservations %v, want none", got)
	}

	// Files gone behind the portal's back: released by the sweep once the
	// creation grace has passed (here: moved back in time).
	loc = h.create(t, 5000, tusMeta("filename", "lost.bin"))
	id = loc[strings.LastIndex(loc, "/")+1:]
	dir := filepath.Join(h.volume, ".staging", "tus")
	os.Remove(filepath.Join(dir, id+".info"))
	if n, err := h.app.tus.sweepReservations(ctx, time.Now(), time.Hour); err != nil || n != 0 {
		t.Fatalf("sweep within the grace: %d, %v; want 0", n, err)
	}
	if n, err := h.app.tus.sweepReservations(ctx, time.Now().Add(2*reservationGrace), time.Hour); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v; want 1", n, err)
	}

	// A reservation without progress for the maximum age.
	// (Its files are still here, so only the age can release it.)
	h.create(t, 5000, tusMeta("filename", "stale.bin"))
	if n, err := h.app.tus.sweepReservations(ctx, time.Now().Add(2*reservationGrace), time.Hour); err != nil || n != 0 {
		t.Fatalf("sweep of a live reservation: %d, %v; want 0", n, err)
	}
	if n, err := h.app.tus.sweepReservations(ctx, time.Now().Add(2*time.Hour), time.Hour); err != nil || n != 1 {
		t.Fatalf("sweep of a stale reservation: %d, %v; want 1", n, err)
	}
	if got := h.reservedIDs(t); len(got) != 0 {
		t.Fatalf("left %v", got)
	}
}
