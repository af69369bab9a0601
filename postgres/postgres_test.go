package postgres_test

import (
	"context"
	"testing"

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
