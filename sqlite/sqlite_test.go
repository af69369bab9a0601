package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/sqlite"
	"github.com/waarborg/waarborg/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) waarborg.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestUsers(t *testing.T) {
	storetest.RunUsers(t, func(t *testing.T) waarborg.Users {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "test.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// A database of schema version 1 (before cosignatures and users) opens,
// keeps what it holds, and takes cosignatures and users.
func TestMigrateFromVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := os.ReadFile("schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{string(v1), "PRAGMA user_version = 1", "INSERT INTO tenants (name) VALUES ('acme')",
		"INSERT INTO checkpoints (tenant, size, root, signed_at, note) VALUES (1, 3, x'00', 0, 'n')"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if cp, err := db.Checkpoint(ctx, "acme", 3); err != nil || string(cp.Note) != "n" {
		t.Fatalf("checkpoint after migration: %+v, %v", cp, err)
	}
	c := &waarborg.Cosignature{Tenant: "acme", Size: 3, Witness: "w", Time: time.Unix(1e9, 0).UTC(), Line: "— w x\n"}
	if err := db.Update(ctx, func(tx waarborg.Tx) error { return tx.AddCosignature(c) }); err != nil {
		t.Fatal(err)
	}
	if got, err := db.Cosignatures(ctx, "acme", 3); err != nil || len(got) != 1 || !got[0].Time.Equal(c.Time) {
		t.Errorf("cosignatures after migration: %+v, %v", got, err)
	}
	if ts, err := db.Tenants(ctx); err != nil || len(ts) != 1 || ts[0] != "acme" {
		t.Errorf("tenants after migration: %v, %v", ts, err)
	}
	u := &waarborg.User{Name: "adm", Role: waarborg.RoleAdmin, Tenants: []string{"acme"}, Password: "$argon2id$x"}
	if err := db.AddUser(ctx, u); err != nil {
		t.Fatalf("add a user after migration: %v", err)
	}
}
