package postgres_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/internal/segment"
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
	// Which process loses the race to create schema_migrations, and how,
	// varies from run to run: several rounds see more of the ways.
	for round := range 8 {
		t.Run(strconv.Itoa(round), testMigrateConcurrently)
	}
}

func testMigrateConcurrently(t *testing.T) {
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

// A segment changed behind the store's back into text that does not parse
// is an error on every read, never a panic or a silently different entry.
func TestMalformedSegment(t *testing.T) {
	ctx := context.Background()
	u := servicetest.PostgresSchema(t)
	db, err := postgres.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fix := `{"id":"c1","tenant":"acme","source":"corp/mes","type":"correction","time":"2026-03-02T06:00:00Z","actor":"qa","data":{"corrects":"a","type":"historian.sample","reason":"sensor swap","data":{"tag":"t1","value":7}}}`
	c, err := waarborg.ParseRecord([]byte(fix))
	if err != nil {
		t.Fatal(err)
	}
	a := storetest.Record(t, "acme", "a", 1)
	ps := []*waarborg.Pending{{Record: a, Hash: a.Hash()}, {Record: c, Hash: c.Hash()}}
	if err := db.Update(ctx, func(tx waarborg.Tx) error { return tx.Add("acme", 0, ps) }); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "UPDATE segments SET entries = 'a\tnot a time'"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Record(ctx, "acme", "c1"); !errors.Is(err, segment.ErrMalformed) {
		t.Errorf("Record: %v, want ErrMalformed", err)
	}
	if _, err := db.Corrections(ctx, "acme", "a"); !errors.Is(err, segment.ErrMalformed) {
		t.Errorf("Corrections: %v, want ErrMalformed", err)
	}
	for _, err := range db.Records(ctx, "acme", 0, 2) {
		if !errors.Is(err, segment.ErrMalformed) {
			t.Errorf("Records: %v, want ErrMalformed", err)
		}
		break
	}
	// A re-send needs the held entry's hash: it fails rather than guess.
	if err := db.Update(ctx, func(tx waarborg.Tx) error { return tx.Add("acme", 2, ps[:1]) }); !errors.Is(err, segment.ErrMalformed) {
		t.Errorf("re-send: %v, want ErrMalformed", err)
	}
}
