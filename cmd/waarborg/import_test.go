package main

import (
	"strings"
	"testing"
)

func TestImportTwiceIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, file string
		args       []string
		summary    string
		errs       []string
	}{
		{"historian", "historian.csv", []string{"--format", "historian-csv", "--decimal-comma", "--source", "ede/line-1/historian"},
			"accepted 5, duplicate 0, rejected 5 (10 entries",
			[]string{`historian.csv: line 5: value: "n/a" is not a number (rule format)`}},
		{"erp", "goods-receipts.csv", []string{"--format", "erp-csv", "--source", "ede/erp"},
			"accepted 4, duplicate 0, rejected 4 (8 entries",
			[]string{`goods-receipts.csv: line 8: material: is empty (rule required)`}},
		{"b2mml", "production-performance.xml", []string{"--format", "b2mml", "--source", "ede/mes"},
			"accepted 4, duplicate 0, rejected 2 (6 entries",
			[]string{`production-performance.xml: line 66: QuantityString: "abc" is not a number (rule format)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "../../connector/files/testdata/" + tt.file
			args := append([]string{"import", "-q", "--data", dir, "--tenant", "vitafood", "--tz", "Europe/Amsterdam"}, tt.args...)
			out, errOut, err := runMain(t, "", append(args, path)...)
			if err == nil {
				t.Error("import with rejected entries exited 0")
			}
			if !strings.HasPrefix(out, tt.summary) {
				t.Errorf("summary %q, want %q…\n%s", out, tt.summary, errOut)
			}
			for _, want := range tt.errs {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			out, _, _ = runMain(t, "", append(args, path)...)
			accepted := strings.Fields(tt.summary)[1]
			if want := "accepted 0, duplicate " + accepted; !strings.HasPrefix(out, want) {
				t.Errorf("second import: %q, want %q…", out, want)
			}
		})
	}
}

func TestImportUsage(t *testing.T) {
	for _, args := range [][]string{
		{"import", "--tenant", "t", "x.csv"},
		{"import", "--format", "b2mml", "x.xml"},
		{"import", "--tenant", "t", "--format", "sap", "x.csv"},
	} {
		if _, _, err := runMain(t, "", args...); err == nil || err != errUsage {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	_, _, err := runMain(t, "", "import", "--data", t.TempDir(), "--tenant", "t", "--format", "erp-csv", "--tz", "Mars/Olympus", "x.csv")
	if err == nil || !strings.Contains(err.Error(), "Mars/Olympus") {
		t.Errorf("bad --tz: %v", err)
	}
	_, _, err = runMain(t, "tag,time,value\n", "import", "-q", "--data", t.TempDir(), "--tenant", "t", "--format", "historian-csv", "--source", "/ede//x", "-")
	if err == nil || !strings.Contains(err.Error(), `source "/ede//x"`) {
		t.Errorf("bad --source: %v", err)
	}
}
