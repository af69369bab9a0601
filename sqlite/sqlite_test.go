package sqlite_test

import (
	"context"
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
