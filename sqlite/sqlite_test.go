package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"testing"

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

// A database of schema version 1 (before users) opens and gains the
// users' tables, its log untouched.
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
	for _, q := range []string{string(v1), "PRAGMA user_version = 1", "INSERT INTO tenants (name) VALUES ('acme')"} {
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
	if ts, err := db.Tenants(ctx); err != nil || len(ts) != 1 || ts[0] != "acme" {
		t.Errorf("tenants after migration: %v, %v", ts, err)
	}
	u := &waarborg.User{Name: "adm", Role: waarborg.RoleAdmin, Tenants: []string{"acme"}, Password: "$argon2id$x"}
	if err := db.AddUser(ctx, u); err != nil {
		t.Fatalf("add a user after migration: %v", err)
	}
}
