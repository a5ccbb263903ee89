package catalog

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestLeaseOneHolderAtATime(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		ctx := context.Background()
		acquire := func(holder string, ttl time.Duration) bool {
			t.Helper()
			ok, err := c.AcquireLease(ctx, "retention", holder, ttl)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !acquire("node-1/a", time.Minute) {
			t.Fatal("a free lease was not taken")
		}
		if acquire("node-2/b", time.Minute) {
			t.Fatal("a second holder took a running lease")
		}
		if !acquire("node-1/a", time.Minute) {
			t.Fatal("the holder could not renew")
		}
		if l, err := c.LeaseOf(ctx, "retention"); err != nil || l.Holder != "node-1/a" || time.Until(l.ExpiresAt) < 50*time.Second {
			t.Fatalf("LeaseOf = %+v, %v", l, err)
		}
		// Other names are other leases.
		if ok, err := c.AcquireLease(ctx, "scrub", "node-2/b", time.Minute); err != nil || !ok {
			t.Fatalf("scrub lease: %v %v", ok, err)
		}
		if err := c.ReleaseLease(ctx, "retention", "node-2/b"); err != nil { // not the holder: nothing
			t.Fatal(err)
		}
		if acquire("node-2/b", time.Minute) {
			t.Fatal("a release by a non-holder freed the lease")
		}
		if err := c.ReleaseLease(ctx, "retention", "node-1/a"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.LeaseOf(ctx, "retention"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("released lease: %v", err)
		}
		if !acquire("node-2/b", 300*time.Millisecond) {
			t.Fatal("a released lease was not taken")
		}
		time.Sleep(600 * time.Millisecond)
		if !acquire("node-1/a", time.Minute) {
			t.Fatal("an expired lease was not taken over")
		}
		if _, err := c.AcquireLease(ctx, "", "x", time.Second); !errors.Is(err, ErrInvalid) {
			t.Fatalf("empty name: %v", err)
		}
	})
}

// TestLeaseRace: many holders grab at once, exactly one wins.
func TestLeaseRace(t *testing.T) {
	forEachDialect(t, func(t *testing.T, c *Catalog) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		winners := 0
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := c.AcquireLease(context.Background(), "race", fmt.Sprintf("node-%d", i), time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					winners++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if winners != 1 {
			t.Fatalf("%d holders at once, want 1", winners)
		}
	})
}
