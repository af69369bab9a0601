package postgres_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/postgres"
	"github.com/waarborg/waarborg/servicetest"
	"github.com/waarborg/waarborg/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) waarborg.Store {
		db, err := postgres.Open(context.Background(), servicetest.PostgresSchema(t))
		if err != nil {
			t.Fatal(err)
		}
		return db
	})
}

func TestUsers(t *testing.T) {
	storetest.RunUsers(t, func(t *testing.T) waarborg.Users {
		db, err := postgres.Open(context.Background(), servicetest.PostgresSchema(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// Processes that start at once on a new database apply each migration
// once; a later Migrate applies nothing.
func TestMigrateConcurrently(t *testing.T) {
	ctx := context.Background()
	url := servicetest.PostgresSchema(t)
	var wg sync.WaitGroup
	applied := make([][]string, 4)
	errs := make([]error, 4)
	for i := range applied {
		wg.Go(func() { applied[i], errs[i] = postgres.Migrate(ctx, url) })
	}
	wg.Wait()
	files, _ := filepath.Glob("migrations/*.sql")
	count := map[string]int{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Migrate %d: %v", i, err)
		}
		for _, name := range applied[i] {
			count[name]++
		}
	}
	if len(count) != len(files) {
		t.Errorf("%d migrations applied, want each of the %d files: %v", len(count), len(files), applied)
	}
	for name, n := range count {
		if n != 1 {
			t.Errorf("%s applied %d times, want once", name, n)
		}
	}
	again, err := postgres.Migrate(ctx, url)
	if err != nil || len(again) != 0 {
		t.Errorf("Migrate of an up-to-date schema applied %v, %v", again, err)
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
}

// An appender whose state is behind another process's appends cannot
// write: Add at anything but the end of the log fails and keeps nothing.
func TestAddOnlyAtTheEnd(t *testing.T) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, servicetest.PostgresSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	add := func(first uint64, id string) error {
		r := storetest.Record(t, "acme", id, 1)
		return db.Update(ctx, func(tx waarborg.Tx) error {
			return tx.Add("acme", first, []*waarborg.Pending{{Record: r, Hash: r.Hash(), ReceivedAt: time.Now()}})
		})
	}
	if err := add(0, "a"); err != nil {
		t.Fatal(err)
	}
	for _, first := range []uint64{0, 2} {
		if err := add(first, "b"); err == nil {
			t.Errorf("Add at %d to a log of 1 entry succeeded", first)
		}
	}
	if n, err := db.Size(ctx, "acme"); err != nil || n != 1 {
		t.Errorf("Size = %d, %v; want 1", n, err)
	}
	if err := add(1, "b"); err != nil {
		t.Fatal(err)
	}
}
