// Package servicetest gives tests the services that scripts/test.sh installs
// and starts: a PostgreSQL database and the paths of Debian programs such as
// mosquitto and chromium. Run alone with plain `go test`, a test that needs
// one skips and says why; under `make test` it fails instead, so that CI
// never passes by skipping.
package servicetest

import (
	"os"
	"os/exec"
	"testing"
)

// Required reports whether the services must be there: scripts/test.sh sets
// WAARBORG_TEST_SERVICES=1 after starting them.
func Required() bool { return os.Getenv("WAARBORG_TEST_SERVICES") == "1" }

func missing(t testing.TB, what string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s is missing although scripts/test.sh should have provided it", what)
	}
	t.Skipf("%s is missing: run `make test`, which installs and starts it", what)
}

// Postgres returns the URL of the throwaway PostgreSQL database that
// scripts/test.sh started (WAARBORG_TEST_POSTGRES).
func Postgres(t testing.TB) string {
	t.Helper()
	url := os.Getenv("WAARBORG_TEST_POSTGRES")
	if url == "" {
		missing(t, "PostgreSQL (WAARBORG_TEST_POSTGRES)")
	}
	return url
}

// Program returns the path of a program installed from Debian packages,
// such as "mosquitto", "chromium" or "pdfinfo".
func Program(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		missing(t, name)
	}
	return path
}
