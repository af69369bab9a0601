package waarborg_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The domain stays pure, and adapters do not import each other: see STYLE.md.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Skip("go list:", err)
	}
	const mod = "github.com/waarborg/waarborg"
	pure := map[string]bool{mod: true, mod + "/jcs": true, mod + "/ledger": true, mod + "/controls": true, mod + "/sim": true, mod + "/assess": true, mod + "/monitor": true, mod + "/oscal": true, mod + "/bundle": true, mod + "/sample": true}
	forbidden := []string{"database/sql", "net/http", "os", "os/exec", "modernc.org/", "github.com/jackc/", "github.com/prometheus/"}
	adapters := map[string]bool{mod + "/sqlite": true, mod + "/postgres": true, mod + "/web": true}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		for _, imp := range imports {
			if pure[pkg] {
				for _, f := range forbidden {
					if imp == f || strings.HasSuffix(f, "/") && strings.HasPrefix(imp, f) {
						t.Errorf("%s imports %s: the domain does no I/O", pkg, imp)
					}
				}
			}
			if adapters[pkg] && adapters[imp] {
				t.Errorf("adapter %s imports adapter %s", pkg, imp)
			}
		}
	}
}
