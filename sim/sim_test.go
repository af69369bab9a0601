package sim

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A small validator of records.md, independent of the ingest code, so the
// simulator is checked against the contract itself.

type fieldKind int

const (
	fStr    fieldKind = iota
	fNum              // any number
	fNonNeg           // number ≥ 0
	fInt0             // integer ≥ 0
	fInt1             // integer ≥ 1
	fBool             // boolean
	fTime             // RFC 3339 timestamp
	fStrs             // array of strings
	fEnum             // one of enum
	fSHA              // 64 lower-case hex digits
	fData             // correction: object
)

type fieldSpec struct {
	name string
	kind fieldKind
	req  bool
	enum []string
}

func req(name string, k fieldKind, enum ...string) fieldSpec {
	return fieldSpec{name, k, true, enum}
}
func opt(name string, k fieldKind, enum ...string) fieldSpec {
	return fieldSpec{name, k, false, enum}
}

var levels = []string{"low", "medium", "high", "critical"}

var typeSpecs = map[string][]fieldSpec{
	"production.count": {req("line", fStr), opt("batch_id", fStr), req("product", fStr), req("quantity", fNonNeg),
		req("unit", fStr), req("start", fTime), req("end", fTime)},
	"batch.start": {req("batch_id", fStr), req("line", fStr), req("product", fStr), req("recipe", fStr), req("recipe_version", fStr)},
	"batch.end": {req("batch_id", fStr), req("line", fStr), req("quantity_good", fNonNeg), req("quantity_scrap", fNonNeg),
		req("unit", fStr), opt("signed_by", fStr)},
	"unit.serial": {req("serial", fStr), req("batch_id", fStr)},
	"machine.runtime": {req("line", fStr), opt("batch_id", fStr), req("start", fTime), req("end", fTime),
		req("run_seconds", fNonNeg)},
	"historian.sample": {req("tag", fStr), req("value", fNum), opt("quality", fEnum, "good", "bad", "uncertain")},
	"alarm": {req("alarm_id", fStr), req("tag", fStr), req("priority", fEnum, levels...),
		req("state", fEnum, "active", "acked", "cleared"), opt("message", fStr)},
	"downtime":          {req("downtime_id", fStr), req("line", fStr), req("start", fTime), req("end", fTime), opt("reason", fStr)},
	"incident.open":     {req("incident_id", fStr), req("severity", fEnum, levels...), opt("refs", fStrs), opt("summary", fStr)},
	"incident.escalate": {req("incident_id", fStr), req("level", fInt1), req("to", fStr)},
	"incident.close":    {req("incident_id", fStr), opt("root_cause", fStr), opt("loss_quantity", fNonNeg), opt("unit", fStr)},
	"change.request": {req("change_id", fStr), req("target", fStr), req("content_sha256", fSHA), opt("emergency", fBool),
		opt("summary", fStr)},
	"change.approve":  {req("change_id", fStr)},
	"change.deploy":   {req("target", fStr), req("content_sha256", fSHA), opt("change_id", fStr)},
	"config.snapshot": {req("target", fStr), req("content_sha256", fSHA)},
	"access.grant":    {req("user", fStr), req("role", fStr), req("scope", fStr), opt("approved_by", fStr)},
	"access.revoke":   {req("user", fStr), req("role", fStr), req("scope", fStr)},
	"access.login":    {req("user", fStr), req("success", fBool)},
	"data.export":     {req("dataset", fStr), opt("batch_ids", fStrs)},
	"hr.termination":  {req("user", fStr), req("effective", fTime)},
	"erp.posting": {req("document", fStr), req("movement", fEnum, "goods_receipt", "scrap", "reversal"), opt("batch_id", fStr),
		opt("incident_id", fStr), req("material", fStr), req("quantity", fNonNeg), req("unit", fStr), opt("reverses", fStr)},
	"erp.confirmation": {req("document", fStr), req("batch_id", fStr), req("activity", fEnum, "machine_hours", "labour_hours"),
		req("quantity", fNonNeg), req("unit", fEnum, "h")},
	"source.gap": {req("detail", fStr), req("since", fTime), opt("until", fTime), opt("expected_seq", fInt0),
		opt("received_seq", fInt0)},
	"review.signoff": {req("review", fEnum, "access-review", "monitoring-review"), req("period", fStr),
		req("evidence_sha256", fSHA)},
	"correction": {req("corrects", fStr), req("type", fStr), req("reason", fStr), req("data", fData)},
}

var (
	idRE     = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	tenantRE = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)
	timeRE   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})$`)
	shaRE    = regexp.MustCompile(`^[0-9a-f]{64}$`)
	periodRE = regexp.MustCompile(`^\d{4}-(Q[1-4]|W(0[1-9]|[1-4]\d|5[0-3]))$`)
)

func parseTime(s string) (time.Time, error) {
	if !timeRE.MatchString(s) {
		return time.Time{}, fmt.Errorf("timestamp %q: not RFC 3339 with offset and ms at most", s)
	}
	return time.Parse(time.RFC3339Nano, s)
}

func decimal(v any) (*big.Rat, bool) {
	n, ok := v.(json.Number)
	if !ok {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(string(n))
	return r, ok
}

// validate checks one line against records.md.
func validate(line []byte) error {
	if bytes.ContainsAny(line, "\n\r") {
		return fmt.Errorf("line holds a newline")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("json: %w", err)
	}
	if dec.More() {
		return fmt.Errorf("more than one value")
	}
	for k := range m {
		switch k {
		case "id", "tenant", "source", "type", "time", "actor", "data":
		default:
			return fmt.Errorf("unknown envelope field %q", k)
		}
	}
	id, _ := m["id"].(string)
	if !idRE.MatchString(id) {
		return fmt.Errorf("id %q", id)
	}
	if s, _ := m["tenant"].(string); !tenantRE.MatchString(s) {
		return fmt.Errorf("tenant %q", s)
	}
	src, _ := m["source"].(string)
	if len(src) == 0 || len(src) > 256 || strings.Contains(src, "//") || strings.HasPrefix(src, "/") || strings.HasSuffix(src, "/") {
		return fmt.Errorf("source %q", src)
	}
	if a, ok := m["actor"]; ok {
		if s, ok := a.(string); !ok || s == "" {
			return fmt.Errorf("actor %v", a)
		}
	}
	ts, _ := m["time"].(string)
	t, err := parseTime(ts)
	if err != nil {
		return err
	}
	typ, _ := m["type"].(string)
	data, ok := m["data"].(map[string]any)
	if !ok {
		return fmt.Errorf("data is not an object")
	}
	return validateData(typ, data, t)
}

func validateData(typ string, data map[string]any, t time.Time) error {
	specs, ok := typeSpecs[typ]
	if !ok {
		return fmt.Errorf("type %q", typ)
	}
	for _, f := range specs {
		v, ok := data[f.name]
		if !ok {
			if f.req {
				return fmt.Errorf("%s: data.%s missing", typ, f.name)
			}
			continue
		}
		if err := checkField(f, v); err != nil {
			return fmt.Errorf("%s: data.%s: %w", typ, f.name, err)
		}
	}
	times := func(k string) time.Time { tt, _ := parseTime(data[k].(string)); return tt }
	switch typ {
	case "production.count", "machine.runtime":
		start, end := times("start"), times("end")
		if !start.Before(end) {
			return fmt.Errorf("%s: start not before end", typ)
		}
		if !end.Equal(t) {
			return fmt.Errorf("%s: time is not end", typ)
		}
		if typ == "machine.runtime" {
			run, _ := decimal(data["run_seconds"])
			if run.Cmp(new(big.Rat).SetFrac64(end.Sub(start).Milliseconds(), 1000)) > 0 {
				return fmt.Errorf("run_seconds exceeds the interval")
			}
		}
	case "downtime":
		if times("end").Before(times("start")) {
			return fmt.Errorf("downtime ends before it starts")
		}
	case "source.gap":
		if _, ok := data["until"]; ok && t.Before(times("until")) {
			return fmt.Errorf("source.gap written before until")
		}
	case "review.signoff":
		if !periodRE.MatchString(data["period"].(string)) {
			return fmt.Errorf("period %q", data["period"])
		}
	case "erp.posting":
		_, has := data["reverses"]
		if (data["movement"] == "reversal") != has {
			return fmt.Errorf("reverses goes with a reversal, only")
		}
	case "correction":
		ct, _ := data["type"].(string)
		if ct == "correction" {
			return fmt.Errorf("a correction of a correction")
		}
		if !idRE.MatchString(data["corrects"].(string)) {
			return fmt.Errorf("corrects %q", data["corrects"])
		}
		// The envelope tie (time = end) is checked by the control test,
		// which knows the corrected record.
		return validateData(ct, data["data"].(map[string]any), timeOfEnd(ct, data["data"].(map[string]any), t))
	}
	return nil
}

func timeOfEnd(typ string, d map[string]any, t time.Time) time.Time {
	if typ == "production.count" || typ == "machine.runtime" {
		if s, ok := d["end"].(string); ok {
			tt, _ := parseTime(s)
			return tt
		}
	}
	return t
}

func checkField(f fieldSpec, v any) error {
	switch f.kind {
	case fStr:
		if _, ok := v.(string); !ok {
			return fmt.Errorf("not a string")
		}
	case fNum, fNonNeg, fInt0, fInt1:
		r, ok := decimal(v)
		if !ok {
			return fmt.Errorf("not a number")
		}
		if f.kind != fNum && r.Sign() < 0 {
			return fmt.Errorf("negative")
		}
		if (f.kind == fInt0 || f.kind == fInt1) && !r.IsInt() {
			return fmt.Errorf("not an integer")
		}
		if f.kind == fInt1 && r.Sign() <= 0 {
			return fmt.Errorf("below 1")
		}
	case fBool:
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("not a boolean")
		}
	case fTime:
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("not a string")
		}
		if _, err := parseTime(s); err != nil {
			return err
		}
	case fStrs:
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("not an array")
		}
		for _, x := range a {
			if _, ok := x.(string); !ok {
				return fmt.Errorf("holds a non-string")
			}
		}
	case fEnum:
		s, _ := v.(string)
		for _, e := range f.enum {
			if s == e {
				return nil
			}
		}
		return fmt.Errorf("%q not one of %v", s, f.enum)
	case fSHA:
		if s, _ := v.(string); !shaRE.MatchString(s) {
			return fmt.Errorf("not a SHA-256 in hex")
		}
	case fData:
		if _, ok := v.(map[string]any); !ok {
			return fmt.Errorf("not an object")
		}
	}
	return nil
}

func smallConfig(seed int64, rate float64) Config {
	return Config{
		Tenant:       "acme-foods",
		Sites:        []string{"ede", "venlo"},
		LinesPerSite: 2,
		From:         time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC),
		To:           time.Date(2026, 3, 23, 7, 30, 0, 0, time.UTC),
		Seed:         seed,
		ProblemRate:  rate,
	}
}

func collect(t testing.TB, cfg Config) [][]byte {
	t.Helper()
	var out [][]byte
	err := Generate(cfg, func(line []byte) error {
		out = append(out, bytes.Clone(line))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGenerateValid(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"clean", smallConfig(1, 0)},
		{"problems", smallConfig(2, 0.05)},
		{"one line, odd hours", Config{Tenant: "t1", Sites: []string{"x-1"}, LinesPerSite: 1,
			From: time.Date(2026, 10, 20, 13, 17, 42, 0, time.UTC), To: time.Date(2026, 11, 3, 2, 0, 0, 0, time.UTC),
			Seed: -7, ProblemRate: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := collect(t, tc.cfg)
			ids := map[string]bool{}
			types := map[string]int{}
			for i, line := range lines {
				if err := validate(line); err != nil {
					t.Fatalf("line %d: %v\n%s", i+1, err, line)
				}
				var env struct{ ID, Tenant, Type, Time string }
				if err := json.Unmarshal(line, &env); err != nil {
					t.Fatal(err)
				}
				if ids[env.ID] {
					t.Fatalf("line %d: id %s twice", i+1, env.ID)
				}
				ids[env.ID] = true
				types[env.Type]++
				if env.Tenant != tc.cfg.Tenant {
					t.Fatalf("line %d: tenant %s", i+1, env.Tenant)
				}
				tt, _ := time.Parse(time.RFC3339Nano, env.Time)
				if tt.Before(tc.cfg.From) || !tt.Before(tc.cfg.To) {
					t.Fatalf("line %d: time %s outside the history", i+1, env.Time)
				}
			}
			for typ := range typeSpecs {
				if types[typ] == 0 && tc.name != "one line, odd hours" {
					t.Errorf("no %s records", typ)
				}
			}
			t.Logf("%d records: %v", len(lines), types)
		})
	}
}

func TestDeterministic(t *testing.T) {
	sum := func(cfg Config) ([32]byte, int) {
		h := sha256.New()
		n := 0
		if err := Generate(cfg, func(line []byte) error {
			h.Write(line)
			h.Write([]byte{'\n'})
			n++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return [32]byte(h.Sum(nil)), n
	}
	cfg := smallConfig(42, 0.01)
	cfg.To = cfg.From.AddDate(0, 0, 7)
	a, n := sum(cfg)
	b, _ := sum(cfg)
	if a != b {
		t.Fatal("the same config gave different output")
	}
	cfg.Seed++
	if c, _ := sum(cfg); c == a {
		t.Fatal("another seed gave the same output")
	}
	if n == 0 {
		t.Fatal("no records")
	}
}

func TestDeliveryOrder(t *testing.T) {
	lines := collect(t, smallConfig(3, 0))
	var prev time.Time
	late := 0
	for _, line := range lines {
		var env struct{ Time string }
		json.Unmarshal(line, &env)
		tt, _ := time.Parse(time.RFC3339Nano, env.Time)
		if tt.Before(prev) {
			late++
			if prev.Sub(tt) > time.Duration(lateMax)*time.Millisecond+time.Minute {
				t.Fatalf("a record %v late", prev.Sub(tt))
			}
		} else {
			prev = tt
		}
	}
	share := float64(late) / float64(len(lines))
	if share == 0 || share > 0.02 {
		t.Fatalf("%.4f of the records arrive late; want a small share", share)
	}
}

func TestLiveContinues(t *testing.T) {
	cfg := smallConfig(5, 0.02)
	cfg.To = cfg.From.AddDate(0, 0, 5)
	ids := map[string]bool{}
	for _, line := range collect(t, cfg) {
		var env struct{ ID string }
		json.Unmarshal(line, &env)
		ids[env.ID] = true
	}
	live := NewLive(cfg, cfg.To)
	last := cfg.To
	n := 0
	for step := range 3 * 24 * 6 {
		until := cfg.To.Add(time.Duration(step+1) * 10 * time.Minute)
		err := live.Next(until, func(line []byte) error {
			if err := validate(line); err != nil {
				return fmt.Errorf("%w\n%s", err, line)
			}
			var env struct{ ID, Time string }
			json.Unmarshal(line, &env)
			if ids[env.ID] {
				return fmt.Errorf("id %s again", env.ID)
			}
			ids[env.ID] = true
			tt, _ := time.Parse(time.RFC3339Nano, env.Time)
			if tt.Before(cfg.To) || tt.After(until) {
				return fmt.Errorf("time %v outside [%v, %v]", tt, cfg.To, until)
			}
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		last = until
	}
	if n < 1000 {
		t.Fatalf("%d live records in 3 days up to %v", n, last)
	}
}

func TestConfigErrors(t *testing.T) {
	good := smallConfig(1, 0)
	for _, tc := range []struct {
		name string
		edit func(*Config)
	}{
		{"tenant", func(c *Config) { c.Tenant = "Acme" }},
		{"no sites", func(c *Config) { c.Sites = nil }},
		{"site name", func(c *Config) { c.Sites = []string{"ede/1"} }},
		{"corp", func(c *Config) { c.Sites = []string{"corp"} }},
		{"site twice", func(c *Config) { c.Sites = []string{"ede", "ede"} }},
		{"lines", func(c *Config) { c.LinesPerSite = 0 }},
		{"window", func(c *Config) { c.To = c.From }},
		{"rate", func(c *Config) { c.ProblemRate = 1.5 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			if err := Generate(cfg, func([]byte) error { return nil }); err == nil {
				t.Fatal("no error")
			}
			if err := NewLive(cfg, cfg.To).Next(cfg.To, func([]byte) error { return nil }); err == nil {
				t.Fatal("no error from Live")
			}
		})
	}
}

func TestYear3Sites(t *testing.T) {
	if testing.Short() {
		t.Skip("a year of data")
	}
	counts := map[string]int{}
	n := 0
	start := time.Now()
	err := Generate(Year3Sites("acme-foods", 1), func(line []byte) error {
		n++
		i := bytes.Index(line, []byte(`"type":"`)) + len(`"type":"`)
		counts[string(line[i:i+bytes.IndexByte(line[i:], '"')])]++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d records in %v: %v", n, time.Since(start), counts)
	if n < 2_500_000 || n > 3_500_000 {
		t.Fatalf("%d records, want 2.5M-3.5M", n)
	}
	if len(counts) != len(typeSpecs) {
		t.Fatalf("%d types, want %d", len(counts), len(typeSpecs))
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  Config
	}{
		{"month", func() Config { c := Year3Sites("acme-foods", 1); c.To = c.From.AddDate(0, 1, 0); return c }()},
		{"Year3Sites", Year3Sites("acme-foods", 1)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			n := 0
			for b.Loop() {
				n = 0
				if err := Generate(bc.cfg, func(line []byte) error { n++; return nil }); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "records/op")
		})
	}
}
