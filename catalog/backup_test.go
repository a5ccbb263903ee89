package catalog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seedbed/seedbed/internal/testenv"
)

// TestBackupSQLiteWhileWriting: a backup taken while writers write is a
// consistent catalog holding at least what was committed before it began.
func TestBackupSQLiteWhileWriting(t *testing.T) {
	dir := t.TempDir()
	url := "file:" + filepath.Join(dir, "seedbed.db")
	c := openTest(t, url)
	ctx := context.Background()
	for i := range 20 {
		if _, err := c.CreateUser(ctx, fmt.Sprintf("before%d", i), "password123", RoleUser); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var written atomic.Int64
	for w := range 3 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.CreateUser(ctx, fmt.Sprintf("during%d-%d", w, i), "password123", RoleUser); err != nil {
					t.Error(err)
					return
				}
				written.Add(1)
			}
		})
	}
	for written.Load() < 10 {
		time.Sleep(time.Millisecond)
	}
	dest := filepath.Join(dir, "backup.db")
	res, err := Backup(ctx, Options{URL: url}, dest)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if res.Dialect != DialectSQLite || res.Bytes <= 0 || res.Restore == "" {
		t.Fatalf("result %+v", res)
	}
	if _, err := os.Stat(dest + ".partial"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("partial file left: %v", err)
	}
	if _, err := Backup(ctx, Options{URL: url}, dest); err == nil {
		t.Fatal("a backup overwrote an existing file")
	}
	b := openTest(t, "file:"+dest)
	for i := range 20 {
		if _, err := b.UserByName(ctx, fmt.Sprintf("before%d", i)); err != nil {
			t.Fatalf("user before%d missing from the backup: %v", i, err)
		}
	}
	var check string
	if err := b.w.Raw("PRAGMA integrity_check").Scan(&check).Error; err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	n, _ := b.CountUsers(ctx)
	all, _ := c.CountUsers(ctx)
	if n < 20 || n > all {
		t.Fatalf("backup has %d users; %d before, %d at the end", n, 20, all)
	}
	if v, err := b.SchemaVersion(ctx); err != nil || v == 0 {
		t.Fatalf("schema version of the backup: %d %v", v, err)
	}
}

// TestBackupPostgres: pg_dump's backup restores with pg_restore into an
// empty database that a node opens with its data.
func TestBackupPostgres(t *testing.T) {
	testenv.Need(t, "pg_dump", "postgresql-client")
	pgRestore := testenv.Need(t, "pg_restore", "postgresql-client")
	ctx := context.Background()
	url := testenv.Postgres(t)
	c := openTest(t, url)
	if _, err := c.CreateUser(ctx, "kept", "password123", RoleUser); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "seedbed.dump")
	res, err := Backup(ctx, Options{URL: url}, dest)
	if err != nil {
		t.Fatal(err)
	}
	if res.Dialect != DialectPostgres || res.Bytes <= 0 {
		t.Fatalf("result %+v", res)
	}
	target := testenv.Postgres(t)
	if out, err := exec.Command(pgRestore, "--no-owner", "--dbname="+target, dest).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v: %s", err, out)
	}
	r := openTest(t, target)
	if _, err := r.UserByName(ctx, "kept"); err != nil {
		t.Fatalf("restored catalog: %v", err)
	}
}

// TestBackupErrors: clear errors for what cannot be backed up.
func TestBackupErrors(t *testing.T) {
	ctx := context.Background()
	for _, o := range []Options{{URL: ":memory:"}, {URL: "mysql://x/y"}, {}, {URL: filepath.Join(t.TempDir(), "missing.db")}} {
		if _, err := Backup(ctx, o, filepath.Join(t.TempDir(), "b.db")); err == nil {
			t.Errorf("Backup(%+v) succeeded", o)
		}
	}
}
