package main

import (
	"context"
	"fmt"

	"github.com/seedbed/seedbed/catalog"
)

// runBackup writes a consistent copy of the catalog to FILE while nodes run:
// VACUUM INTO for SQLite, pg_dump (custom format) for PostgreSQL. It prints
// how to restore it. The catalog is not migrated: take backups before
// upgrades with the binary you run.
func runBackup(ctx context.Context, e *env, args []string) error {
	if len(args) != 1 || args[0] == "" {
		return usagef("usage: seedbed backup FILE")
	}
	cfg, err := loadConfig(e)
	if err != nil {
		return err
	}
	res, err := catalog.Backup(ctx, catalog.Options{URL: cfg.Database.URL, DataDir: cfg.DataDir}, args[0])
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "backup of the %s catalog written to %s (%d bytes)\n", res.Dialect, res.Path, res.Bytes)
	fmt.Fprintf(e.stdout, "to restore: %s\n", res.Restore)
	return nil
}
