// Package catalog is Seedbed's database: users, passkeys, API tokens,
// sessions, torrents and their files, volumes, replicas and transfer
// statistics. It is the only package that imports gorm; everything else sees
// the plain structs defined here.
//
// The catalog runs on SQLite (the embedded default, a file under the data
// directory) or on PostgreSQL (several nodes sharing one catalog). On SQLite
// every write goes through one connection, each transaction beginning
// IMMEDIATE, while reads use a separate pool; on PostgreSQL one pool serves
// both. The schema is created and upgraded by numbered SQL migrations embedded
// in the binary (see migrate.go); Open runs them.
//
// Every timestamp is stored in UTC, truncated to microseconds, and set by this
// package (no database defaults or triggers), so both dialects behave alike.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Errors callers branch on. Returned errors wrap them; test with errors.Is.
var (
	// ErrNotFound: no such row (or it is not visible to the caller, e.g. a
	// revoked token or a disabled user's session).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique value (user name, infohash, ...) is taken.
	ErrConflict = errors.New("already exists")
	// ErrBadCredentials: unknown user, wrong password or disabled account.
	ErrBadCredentials = errors.New("bad credentials")
	// ErrInvalid: the input failed validation; see ValidationError.
	ErrInvalid = errors.New("invalid input")
)

// ValidationError says which input was rejected and why. It matches
// ErrInvalid with errors.Is.
type ValidationError struct {
	Field  string
	Reason string
}

func (e *ValidationError) Error() string { return "invalid " + e.Field + ": " + e.Reason }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

func invalid(field, reason string) error { return &ValidationError{Field: field, Reason: reason} }

// Dialect names returned by Catalog.Dialect.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// Options configure Open.
type Options struct {
	// URL selects the database: "" is the SQLite file seedbed.db in DataDir;
	// "file:..." or a plain path is an SQLite file; "postgres://..." or
	// "postgresql://..." is PostgreSQL.
	URL string
	// DataDir is created if missing. Required when URL is "".
	DataDir string
	// Logger receives migration progress, slow queries and database errors.
	// Nil discards them.
	Logger *slog.Logger
}

// Catalog is the database handle. It is safe for concurrent use.
type Catalog struct {
	w          *gorm.DB // writes (and reads inside write transactions)
	r          *gorm.DB // plain reads; the same as w on PostgreSQL
	dialect    string
	log        *slog.Logger
	localClock func() time.Time // this process's clock (nil: now); tests skew it
}

// Open connects to the database selected by opts.URL, creating the SQLite
// file if needed, and migrates the schema to the newest version.
func Open(ctx context.Context, opts Options) (*Catalog, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.DataDir != "" {
		if err := os.MkdirAll(opts.DataDir, 0o750); err != nil {
			return nil, fmt.Errorf("open catalog: create data dir: %w", err)
		}
	}
	raw := strings.TrimSpace(opts.URL)
	var (
		c   *Catalog
		err error
	)
	switch {
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		c, err = openPostgres(raw, log)
	case strings.Contains(raw, "://"):
		return nil, fmt.Errorf("open catalog: unsupported URL %q: want a file path, file:, postgres:// or postgresql://", redact(raw))
	case raw == "" && opts.DataDir == "":
		return nil, errors.New("open catalog: neither URL nor DataDir is set")
	default:
		if raw == "" {
			raw = filepath.Join(opts.DataDir, "seedbed.db")
		}
		c, err = openSQLite(raw, log)
	}
	if err != nil {
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	if err := c.migrate(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("open catalog: %w", err)
	}
	if c.dialect == DialectSQLite && c.r == nil {
		if c.r, err = openSQLiteReader(raw, log); err != nil {
			c.Close()
			return nil, fmt.Errorf("open catalog: %w", err)
		}
	}
	return c, nil
}

// sqliteParams are forced on the writer connection. _txlock=immediate makes
// every transaction take the write lock at BEGIN, so a read-then-write
// transaction never fails at the lock upgrade.
var sqliteParams = map[string]string{
	"_journal_mode": "WAL",
	"_busy_timeout": "5000",
	"_txlock":       "immediate",
	"_foreign_keys": "1",
	"_synchronous":  "NORMAL",
}

// openSQLite opens the single-connection writer. The read pool is opened
// after migrating (openSQLiteReader), except for in-memory databases, which
// exist once per connection and so use the writer for reads too.
func openSQLite(raw string, log *slog.Logger) (*Catalog, error) {
	dsn, memory := sqliteDSN(raw, sqliteParams, nil)
	w, err := gormOpen(sqlite.Open(dsn), log)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", raw, err)
	}
	sqlDB, err := w.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(1)
	sqlDB.SetMaxIdleConns(1)
	sqlDB.SetConnMaxLifetime(0)
	sqlDB.SetConnMaxIdleTime(0)
	c := &Catalog{w: w, dialect: DialectSQLite, log: log}
	if memory {
		c.r = w
	}
	return c, nil
}

// openSQLiteReader opens the read pool: query_only connections that never
// take the write lock.
func openSQLiteReader(raw string, log *slog.Logger) (*gorm.DB, error) {
	params := map[string]string{"_busy_timeout": "5000", "_foreign_keys": "1", "_query_only": "1"}
	dsn, _ := sqliteDSN(raw, params, []string{"_journal_mode", "_txlock", "_synchronous"})
	r, err := gormOpen(sqlite.Open(dsn), log)
	if err != nil {
		return nil, fmt.Errorf("sqlite %s (readers): %w", raw, err)
	}
	sqlDB, err := r.DB()
	if err != nil {
		return nil, err
	}
	n := max(4, runtime.GOMAXPROCS(0))
	sqlDB.SetMaxOpenConns(n)
	sqlDB.SetMaxIdleConns(n)
	return r, nil
}

// sqliteDSN adds params to raw's query string (the caller's own values of the
// same names lose), drops the names in drop, and reports whether raw names an
// in-memory database.
func sqliteDSN(raw string, params map[string]string, drop []string) (dsn string, memory bool) {
	path, query, _ := strings.Cut(raw, "?")
	values, err := url.ParseQuery(query)
	if err != nil {
		values = url.Values{}
	}
	for _, name := range drop {
		values.Del(name)
	}
	for k, v := range params {
		values.Set(k, v)
	}
	bare := strings.TrimPrefix(path, "file:")
	memory = bare == ":memory:" || bare == "" || values.Get("mode") == "memory"
	return path + "?" + values.Encode(), memory
}

// openPostgres opens one pool for reads and writes.
func openPostgres(dsn string, log *slog.Logger) (*Catalog, error) {
	db, err := gormOpen(postgres.Open(dsn), log)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", redact(dsn), err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(20)
	sqlDB.SetMaxIdleConns(5)
	sqlDB.SetConnMaxLifetime(30 * time.Minute)
	return &Catalog{w: db, r: db, dialect: DialectPostgres, log: log}, nil
}

func gormOpen(d gorm.Dialector, log *slog.Logger) (*gorm.DB, error) {
	return gorm.Open(d, &gorm.Config{
		SkipDefaultTransaction: true,
		TranslateError:         true,
		NowFunc:                now,
		Logger: quietLogger{logger.NewSlogLogger(log, logger.Config{
			LogLevel:                  logger.Warn,
			SlowThreshold:             500 * time.Millisecond,
			IgnoreRecordNotFoundError: true,
			ParameterizedQueries:      true, // never log values (hashes, tokens)
		})},
	})
}

// quietLogger does not log the duplicate-key errors that become ErrConflict:
// they are answers, not failures.
type quietLogger struct{ logger.Interface }

func (l quietLogger) LogMode(level logger.LogLevel) logger.Interface {
	return quietLogger{l.Interface.LogMode(level)}
}

func (l quietLogger) Trace(ctx context.Context, begin time.Time, fc func() (string, int64), err error) {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		err = nil
	}
	l.Interface.Trace(ctx, begin, fc, err)
}

// redact hides the password in a database URL.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Close closes the database connections.
func (c *Catalog) Close() error {
	var errs []error
	for _, db := range c.pools() {
		sqlDB, err := db.DB()
		if err == nil {
			err = sqlDB.Close()
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Dialect returns DialectSQLite ("sqlite") or DialectPostgres ("postgres").
func (c *Catalog) Dialect() string { return c.dialect }

// Ping checks that the database answers.
func (c *Catalog) Ping(ctx context.Context) error {
	for _, db := range c.pools() {
		sqlDB, err := db.DB()
		if err != nil {
			return fmt.Errorf("ping catalog: %w", err)
		}
		if err := sqlDB.PingContext(ctx); err != nil {
			return fmt.Errorf("ping catalog: %w", err)
		}
	}
	return nil
}

// pools returns the distinct connection pools.
func (c *Catalog) pools() []*gorm.DB {
	if c.r == nil || c.r == c.w {
		return []*gorm.DB{c.w}
	}
	return []*gorm.DB{c.w, c.r}
}

// read returns the handle for plain reads.
func (c *Catalog) read(ctx context.Context) *gorm.DB { return c.r.WithContext(ctx) }

// write returns the handle for single-statement writes.
func (c *Catalog) write(ctx context.Context) *gorm.DB { return c.w.WithContext(ctx) }

// tx runs fn in one write transaction (BEGIN IMMEDIATE on SQLite). Inside fn
// use only tx: on SQLite the writer has a single connection.
func (c *Catalog) tx(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return c.w.WithContext(ctx).Transaction(fn)
}

// now is the catalog's clock: UTC, microsecond precision (PostgreSQL's).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// dbErr maps gorm errors to ours and adds op as context.
func dbErr(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return fmt.Errorf("%s: %w", op, ErrNotFound)
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%s: %w", op, ErrConflict)
	case errors.Is(err, gorm.ErrForeignKeyViolated):
		return fmt.Errorf("%s: referenced row: %w", op, ErrNotFound)
	default:
		return fmt.Errorf("%s: %w", op, err)
	}
}

// utc returns t in UTC; PostgreSQL hands back times in the session's zone.
func utc(t time.Time) time.Time { return t.UTC() }

// utcPtr returns *t in UTC, or the zero time for NULL.
func utcPtr(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
