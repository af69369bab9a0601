package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/waarborg/waarborg/postgres"
)

// cmdMigrate applies the PostgreSQL schema's migrations. Every command that
// opens the database does too; this lets an operator do it ahead of a
// rollout, with a role that may change the schema.
func cmdMigrate(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	db := fs.String("db", e.getenv("WAARBORG_DB"), "PostgreSQL database `url` (postgres://…, env WAARBORG_DB)")
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: waarborg migrate --db postgres://…")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *db == "" {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	if !isPostgresURL(*db) {
		return fmt.Errorf("--db: want a postgres:// URL, got %q", redact(*db))
	}
	applied, err := postgres.Migrate(ctx, *db)
	for _, m := range applied {
		fmt.Fprintf(e.stdout, "applied %s\n", m)
	}
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(e.stdout, "schema is up to date")
	}
	return nil
}
