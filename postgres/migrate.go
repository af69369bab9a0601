package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrations holds the schema versions: NNNN_name.sql, applied in order.
//
//go:embed migrations/*.sql
var migrations embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, f := range files {
		base := path.Base(f)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name is not NNNN_name.sql", base)
		}
		b, err := migrations.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(base, ".sql"), sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := range ms {
		if ms[i].version != i+1 {
			return nil, fmt.Errorf("migration %s: versions must run 1, 2, … without gaps", ms[i].name)
		}
	}
	return ms, nil
}

// Migrate applies the migrations the database at url lacks and returns the
// names of those it applied; Open does the same.
func Migrate(ctx context.Context, url string) ([]string, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	return migrate(ctx, pool)
}

// migrate applies each missing migration in its own transaction, which
// first claims the version in schema_migrations: processes that start at
// once on a new database wait on the claim (a primary key), so each version
// is applied exactly once, without advisory locks, which distributed
// PostgreSQL-compatible engines lack.
func migrate(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	ms, err := loadMigrations()
	if err != nil {
		return nil, err
	}
	const create = `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now())`
	// A node's role may lack CREATE on the schema: it only reads the
	// version of a schema migrated already.
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return nil, fmt.Errorf("look for schema_migrations: %w", err)
	}
	if !exists {
		if _, err := pool.Exec(ctx, create); err != nil {
			// Two processes creating the table at once: one loses on a
			// catalog's unique index (23505), or finds the table's row
			// type made by the other (42710), and finds the table there.
			if pe, ok := errors.AsType[*pgconn.PgError](err); !ok || (pe.Code != "23505" && pe.Code != "42710" && pe.Code != "42P07") {
				return nil, fmt.Errorf("create schema_migrations: %w", err)
			}
		}
	}
	var latest int
	if err := pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&latest); err != nil {
		return nil, fmt.Errorf("read schema version: %w", err)
	}
	if latest > len(ms) {
		return nil, fmt.Errorf("database schema version %d is newer than this waarborg (%d)", latest, len(ms))
	}
	var applied []string
	for _, m := range ms[latest:] {
		ok, err := apply(ctx, pool, m)
		if err != nil {
			return applied, fmt.Errorf("migration %s: %w", m.name, err)
		}
		if ok {
			applied = append(applied, m.name)
		}
	}
	return applied, nil
}

// apply runs one migration unless another process has; it reports whether
// this one did.
func apply(ctx context.Context, pool *pgxpool.Pool, m migration) (bool, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	tag, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2) ON CONFLICT (version) DO NOTHING", m.version, m.name)
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	// The simple protocol runs a file of several statements in one go.
	if _, err := tx.Exec(ctx, m.sql, pgx.QueryExecModeSimpleProtocol); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}
