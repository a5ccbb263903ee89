package catalog

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"gorm.io/gorm"
)

// Migrations live in migrations/<dialect>/NNNN_name.sql. Both dialects must
// have the same versions. Each one runs in its own transaction together with
// its row in schema_migrations; a version that is recorded is never run again,
// so never edit a released migration: add the next number.
//
//go:embed migrations
var migrationFiles embed.FS

// migrationLockKey is the pg_advisory_xact_lock key that serializes
// migrations of processes starting at the same time ("seedbed" in ASCII).
const migrationLockKey = 0x73656564626564

// migration is one numbered schema step.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations returns the dialect's migrations in version order.
func loadMigrations(dialect string) ([]migration, error) {
	dir := path.Join("migrations", dialect)
	entries, err := fs.ReadDir(migrationFiles, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var steps []migration
	seen := make(map[int]string)
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("migration %s/%s: name must be NNNN_name.sql", dialect, name)
		}
		if prev, dup := seen[version]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, name, version)
		}
		seen[version] = name
		body, err := fs.ReadFile(migrationFiles, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		steps = append(steps, migration{version: version, name: strings.TrimSuffix(name, ".sql"), sql: string(body)})
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].version < steps[j].version })
	return steps, nil
}

// migrate applies every migration not yet recorded in schema_migrations.
// On PostgreSQL each step's transaction first takes an advisory lock, so
// processes starting together apply each step exactly once; on SQLite the
// IMMEDIATE transaction does the same.
func (c *Catalog) migrate(ctx context.Context) error { return c.migrateUpTo(ctx, 0) }

// migrateUpTo is migrate stopping after version upTo (0: the newest); tests
// use it to build a database of an older schema and upgrade it.
func (c *Catalog) migrateUpTo(ctx context.Context, upTo int) error {
	steps, err := loadMigrations(c.dialect)
	if err != nil {
		return err
	}
	for upTo > 0 && len(steps) > 1 && steps[len(steps)-1].version > upTo {
		steps = steps[:len(steps)-1]
	}
	if err := c.tx(ctx, func(tx *gorm.DB) error {
		if err := c.lockMigrations(tx); err != nil {
			return err
		}
		return tx.Exec(c.schemaMigrationsDDL()).Error
	}); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	applied, err := c.appliedMigrations(ctx)
	if err != nil {
		return err
	}
	for _, m := range steps {
		if applied[m.version] {
			continue
		}
		ran, err := c.applyMigration(ctx, m)
		if err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
		if ran {
			c.log.InfoContext(ctx, "catalog migrated", "dialect", c.dialect, "migration", m.name)
		}
		applied[m.version] = true
	}
	latest := steps[len(steps)-1].version
	for v := range applied {
		if v > latest {
			c.log.WarnContext(ctx, "catalog schema is newer than this binary",
				"schema_version", v, "binary_latest", latest)
			break
		}
	}
	return nil
}

// applyMigration runs one step unless another process got there first.
func (c *Catalog) applyMigration(ctx context.Context, m migration) (ran bool, err error) {
	if c.dialect == DialectSQLite && strings.Contains(m.sql, foreignKeysOff) {
		return c.applyWithoutForeignKeys(ctx, m)
	}
	err = c.tx(ctx, func(tx *gorm.DB) error {
		if err := c.lockMigrations(tx); err != nil {
			return err
		}
		var n int64
		if err := tx.Raw("SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if err := tx.Exec(m.sql).Error; err != nil {
			return err
		}
		ran = true
		return tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
			m.version, m.name, now()).Error
	})
	return ran, err
}

// foreignKeysOff in an SQLite migration asks for foreign key enforcement to
// be off while it runs: what rebuilding a table that other tables reference
// needs (https://www.sqlite.org/lang_altertable.html#otheralter, the 12
// steps). The pragma is a no-op inside a transaction, so it is switched on
// the pinned writer connection around the transaction, and before
// committing PRAGMA foreign_key_check must find no dangling reference.
const foreignKeysOff = "-- seedbed:foreign_keys=off"

func (c *Catalog) applyWithoutForeignKeys(ctx context.Context, m migration) (ran bool, err error) {
	err = c.w.WithContext(ctx).Connection(func(conn *gorm.DB) (cerr error) {
		if err := conn.Exec("PRAGMA foreign_keys = OFF").Error; err != nil {
			return err
		}
		defer func() {
			// The writer connection lives on: enforcement must be back.
			if on := conn.Exec("PRAGMA foreign_keys = ON").Error; on != nil && cerr == nil {
				cerr = fmt.Errorf("foreign keys back on: %w", on)
			}
		}()
		return conn.Transaction(func(tx *gorm.DB) error {
			var n int64
			if err := tx.Raw("SELECT COUNT(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if err := tx.Exec(m.sql).Error; err != nil {
				return err
			}
			var bad []struct {
				Table  string
				Rowid  int64
				Parent string
			}
			if err := tx.Raw(`PRAGMA foreign_key_check`).Scan(&bad).Error; err != nil {
				return err
			}
			if len(bad) > 0 {
				return fmt.Errorf("foreign key check: row %d of %s references a missing row of %s", bad[0].Rowid, bad[0].Table, bad[0].Parent)
			}
			ran = true
			return tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, now()).Error
		})
	})
	return ran, err
}

// appliedMigrations returns the recorded versions.
func (c *Catalog) appliedMigrations(ctx context.Context) (map[int]bool, error) {
	var versions []int
	if err := c.write(ctx).Raw("SELECT version FROM schema_migrations").Scan(&versions).Error; err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	applied := make(map[int]bool, len(versions))
	for _, v := range versions {
		applied[v] = true
	}
	return applied, nil
}

// SchemaVersion returns the highest applied migration version.
func (c *Catalog) SchemaVersion(ctx context.Context) (int, error) {
	var v *int
	if err := c.read(ctx).Raw("SELECT MAX(version) FROM schema_migrations").Scan(&v).Error; err != nil {
		return 0, fmt.Errorf("schema version: %w", err)
	}
	if v == nil {
		return 0, nil
	}
	return *v, nil
}

// lockMigrations takes the PostgreSQL migration lock until tx ends.
func (c *Catalog) lockMigrations(tx *gorm.DB) error {
	if c.dialect != DialectPostgres {
		return nil
	}
	return tx.Exec("SELECT pg_advisory_xact_lock(?)", int64(migrationLockKey)).Error
}

func (c *Catalog) schemaMigrationsDDL() string {
	ts := "DATETIME"
	if c.dialect == DialectPostgres {
		ts = "TIMESTAMPTZ"
	}
	return "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at " + ts + " NOT NULL)"
}
