package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/seedbed/seedbed/catalog"
	"github.com/seedbed/seedbed/internal/testenv"
)

// TestMigrationsConcurrentStart: several seedbed processes start at once on
// a fresh PostgreSQL catalog (as nodes do after an upgrade); the advisory
// lock serializes the migrations: every process succeeds and the schema is
// complete, each migration recorded once.
func TestMigrationsConcurrentStart(t *testing.T) {
	dsn := testenv.Postgres(t)
	const procs = 6
	var wg sync.WaitGroup
	errs := make([]error, procs)
	for i := range procs {
		wg.Go(func() {
			cmd := exec.Command(binary, "user", "add", fmt.Sprintf("starter%d", i), "--password-stdin")
			cmd.Env = append(os.Environ(), "SEEDBED_DATABASE_URL="+dsn, "SEEDBED_DATA_DIR="+t.TempDir())
			cmd.Stdin = strings.NewReader("correct horse battery\n")
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("process %d: %w: %s", i, err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	ctx := context.Background()
	cat, err := catalog.Open(ctx, catalog.Options{URL: dsn})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	if n, err := cat.CountUsers(ctx); err != nil || n != procs {
		t.Fatalf("users: %d, %v; want %d", n, err, procs)
	}
	v, err := cat.SchemaVersion(ctx)
	if err != nil || v < 8 {
		t.Fatalf("schema version %d, %v", v, err)
	}
	if _, err := cat.LatestScrubRound(ctx); !errors.Is(err, catalog.ErrNotFound) { // 0008's tables exist, empty
		t.Fatalf("scrub rounds of a fresh catalog: %v", err)
	}
}
