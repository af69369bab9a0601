package waarborg_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The domain stays pure, each domain package imports only the module
// packages it is meant to, and adapters do not import each other: see
// STYLE.md. One test for the whole module, from `go list`.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", "./...").Output()
	if err != nil {
		t.Skip("go list:", err)
	}
	const mod = "github.com/waarborg/waarborg"
	// The packages that do no I/O, with the module packages and outside
	// modules each may import (beside the standard library).
	merkle := []string{"github.com/transparency-dev/merkle/", "golang.org/x/mod/sumdb/note"}
	pure := map[string][]string{
		mod:               {mod + "/jcs"},
		mod + "/jcs":      nil,
		mod + "/sim":      nil,
		mod + "/controls": {mod, mod + "/jcs"},
		mod + "/sample":   {mod, mod + "/controls"},
		mod + "/oscal":    {mod, mod + "/controls"},
		mod + "/ledger":   append([]string{mod}, merkle...),
		mod + "/assess":   append([]string{mod, mod + "/controls", mod + "/ledger"}, merkle...),
		mod + "/monitor":  {mod, mod + "/controls", mod + "/ledger"},
		mod + "/bundle":   append([]string{mod, mod + "/controls", mod + "/ledger"}, merkle...),
		mod + "/report":   {mod, mod + "/controls", mod + "/ledger", mod + "/sample", "github.com/go-pdf/fpdf"},
		// The contract of OT connectors: the domain and no I/O.
		mod + "/connector": {mod},
		// What connectors share, and the file importers, read no network or disk.
		mod + "/connector/decimal": nil,
		mod + "/connector/record":  {mod, mod + "/jcs"},
		mod + "/connector/counter": {mod, mod + "/connector", mod + "/connector/decimal", mod + "/connector/record"},
		mod + "/connector/files":   {mod, mod + "/connector/decimal", mod + "/connector/record"},
		mod + "/auth":              {mod, "golang.org/x/crypto/argon2"},
		mod + "/access":            append([]string{mod, mod + "/assess", mod + "/controls", mod + "/ledger", mod + "/monitor"}, merkle...),
		// The stores' text of a log, shared by sqlite and postgres.
		mod + "/internal/segment": {mod},
	}
	ioPackages := []string{"database/", "net/", "net", "os", "os/", "io/fs", "syscall", "unsafe"}
	adapters := map[string]bool{mod + "/sqlite": true, mod + "/postgres": true, mod + "/web": true, mod + "/witness": true,
		mod + "/edge": true, mod + "/mqttbroker": true, mod + "/connector/sparkplug": true,
		mod + "/connector/modbus": true, mod + "/connector/opcua": true}
	matches := func(imp string, prefixes []string) bool {
		for _, p := range prefixes {
			if imp == p || strings.HasSuffix(p, "/") && strings.HasPrefix(imp, p) {
				return true
			}
		}
		return false
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg, imports := fields[0], fields[1:]
		allowed, isPure := pure[pkg]
		for _, imp := range imports {
			first, _, _ := strings.Cut(imp, "/")
			switch {
			case isPure && matches(imp, ioPackages):
				t.Errorf("%s imports %s: it does no I/O", pkg, imp)
			case isPure && strings.Contains(first, ".") && !matches(imp, allowed):
				t.Errorf("%s imports %s: allowed beside the standard library are %v", pkg, imp, allowed)
			case adapters[pkg] && adapters[imp]:
				t.Errorf("adapter %s imports adapter %s", pkg, imp)
			}
		}
	}
	for pkg := range pure {
		if !strings.Contains(string(out), pkg+" ") && !strings.HasSuffix(strings.TrimSpace(string(out)), pkg) {
			t.Errorf("%s is listed as pure but go list does not know it", pkg)
		}
	}
}
