package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"gorm.io/driver/sqlite"
)

// ErrNoPgDump means pg_dump is not installed, so a PostgreSQL catalog cannot
// be backed up from here.
var ErrNoPgDump = errors.New("pg_dump not found: install Debian's postgresql-client (of the server's major version or newer), or run pg_dump where it is installed")

// BackupResult says what Backup wrote.
type BackupResult struct {
	Dialect string
	Path    string
	Bytes   int64
	// Restore is how to restore this backup, for the operator.
	Restore string
}

// Backup writes a consistent copy of the catalog that opts selects to dest,
// which must not exist yet, while nodes keep running and writing. It does
// not migrate the catalog (a backup is taken before an upgrade).
//
// SQLite: VACUUM INTO a temporary file next to dest, synced, then renamed:
// a self-contained database file. PostgreSQL: Debian's pg_dump in its
// custom format (restore with pg_restore); the password travels in the
// environment, not on the command line.
func Backup(ctx context.Context, opts Options, dest string) (*BackupResult, error) {
	if dest == "" {
		return nil, invalid("backup file", "is empty")
	}
	if _, err := os.Stat(dest); err == nil {
		return nil, fmt.Errorf("backup: %s exists already: choose a new file", dest)
	}
	raw := strings.TrimSpace(opts.URL)
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		return backupPostgres(ctx, raw, dest)
	case strings.Contains(raw, "://"):
		return nil, fmt.Errorf("backup: unsupported database URL %q", redact(raw))
	case raw == "" && opts.DataDir == "":
		return nil, errors.New("backup: neither a database URL nor a data dir is set")
	case raw == "":
		raw = filepath.Join(opts.DataDir, "seedbed.db")
	}
	return backupSQLite(ctx, raw, dest)
}

func backupSQLite(ctx context.Context, raw, dest string) (*BackupResult, error) {
	if _, memory := sqliteDSN(raw, nil, nil); memory {
		return nil, errors.New("backup: an in-memory catalog has nothing to back up")
	}
	file := strings.TrimPrefix(raw, "file:")
	if i := strings.IndexByte(file, '?'); i >= 0 {
		file = file[:i]
	}
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("backup: catalog file: %w", err)
	}
	// A plain connection: VACUUM INTO reads in one transaction (a snapshot,
	// also under WAL while nodes write) and writes only the new file, but
	// query_only would refuse it.
	dsn, _ := sqliteDSN(raw, map[string]string{"_busy_timeout": "5000"}, []string{"_journal_mode", "_txlock", "_synchronous", "_query_only"})
	db, err := gormOpen(sqlite.Open(dsn), slog.New(slog.DiscardHandler))
	if err != nil {
		return nil, fmt.Errorf("backup: open %s: %w", file, err)
	}
	defer func() {
		if sqlDB, err := db.DB(); err == nil {
			sqlDB.Close()
		}
	}()
	tmp := dest + ".partial"
	os.Remove(tmp)
	if err := db.WithContext(ctx).Exec("VACUUM INTO ?", tmp).Error; err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("backup: vacuum into %s: %w", tmp, err)
	}
	size, err := syncAndRename(tmp, dest)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return &BackupResult{Dialect: DialectSQLite, Path: dest, Bytes: size,
		Restore: fmt.Sprintf("stop the node, move <data_dir>/seedbed.db and its -wal and -shm files away, copy %s to <data_dir>/seedbed.db, start the node", dest)}, nil
}

// syncAndRename flushes tmp to disk and renames it to dest.
func syncAndRename(tmp, dest string) (int64, error) {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, dest)
	}
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	return st.Size(), nil
}

func backupPostgres(ctx context.Context, raw, dest string) (*BackupResult, error) {
	pgDump, err := exec.LookPath("pg_dump")
	if err != nil {
		return nil, fmt.Errorf("backup: %w", ErrNoPgDump)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("backup: database URL: %s", redact(raw))
	}
	env := os.Environ()
	if pw, ok := u.User.Password(); ok {
		env = append(env, "PGPASSWORD="+pw)
		u.User = url.User(u.User.Username())
	}
	tmp := dest + ".partial"
	os.Remove(tmp)
	cmd := exec.CommandContext(ctx, pgDump, "--format=custom", "--no-owner", "--no-privileges", "--file="+tmp, "--dbname="+u.String())
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("backup: pg_dump: %w: %s", err, strings.TrimSpace(string(out)))
	}
	size, err := syncAndRename(tmp, dest)
	if err != nil {
		return nil, fmt.Errorf("backup: %w", err)
	}
	return &BackupResult{Dialect: DialectPostgres, Path: dest, Bytes: size,
		Restore: fmt.Sprintf("stop every node, then: pg_restore --clean --if-exists --no-owner --dbname=<database URL> %s; start the nodes", dest)}, nil
}
