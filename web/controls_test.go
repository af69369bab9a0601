package web

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
)

func TestControls(t *testing.T) {
	onEachBackend(t, 64<<20, func(t *testing.T, f *fixture) {
		records, err := os.ReadFile("../../shared/conformance/basic/records.jsonl")
		if err != nil {
			t.Skip("conformance data not beside the checkout:", err)
		}
		if status, body := f.do(t, "POST", "/api/v1/records", strings.NewReader(string(records))); status != http.StatusOK {
			t.Fatalf("POST: %d %.300s", status, body)
		}
		status, body := f.do(t, "GET", "/api/v1/tenants/vitafood/controls?from=2026-11-22&to=2027-01-13", nil)
		if status != http.StatusOK {
			t.Fatalf("GET controls: %d %.300s", status, body)
		}
		var res struct {
			Checkpoint string
			Controls   []struct {
				ID         string
				Population int
				Result     string
			}
		}
		if err := json.Unmarshal(body, &res); err != nil {
			t.Fatal(err)
		}
		if len(res.Controls) != 24 || !strings.Contains(res.Checkpoint, "test.example/waarborg/vitafood\n33974\n") {
			t.Fatalf("%d controls, checkpoint %q", len(res.Controls), res.Checkpoint)
		}
		for _, c := range res.Controls {
			if c.ID == "LM-03" && (c.Population != 33974 || c.Result != "effective") {
				t.Errorf("LM-03: %+v", c)
			}
			if c.ID == "AC-01" && c.Population != 47 {
				t.Errorf("AC-01: %+v", c)
			}
		}
		for _, bad := range []string{"?from=2026-11-22", "?from=x&to=2027-01-13", ""} {
			if status, _ := f.do(t, "GET", "/api/v1/tenants/vitafood/controls"+bad, nil); status != http.StatusBadRequest {
				t.Errorf("controls%s: status %d, want 400", bad, status)
			}
		}
		if status, _ := f.do(t, "GET", "/api/v1/tenants/nobody/controls?from=2026-11-22&to=2027-01-13", nil); status != http.StatusNotFound {
			t.Errorf("unknown tenant: status %d, want 404", status)
		}
	})
}
