package waarborg

import (
	"crypto/sha256"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/waarborg/waarborg/jcs"
)

// A Record is one accepted evidence record (records.md, format v1).
//
// Canonical holds the record's canonical JSON (RFC 8785): the content that
// its hash, and so its ledger leaf, commits to. Data is the parsed `data`
// object, members in canonical order.
type Record struct {
	ID     string
	Tenant string
	Source string
	Type   string
	Time   time.Time // an instant, in UTC
	Actor  string    // "" when absent
	Data   jcs.Value

	Canonical []byte
	hash      [32]byte
}

// Hash returns the content hash: SHA-256 of the canonical JSON. ParseRecord
// computes it, so that it is hashed where records are parsed, in parallel.
func (r *Record) Hash() [32]byte { return r.hash }

// Site returns the first segment of the record's source.
func (r *Record) Site() string {
	site, _, _ := strings.Cut(r.Source, "/")
	return site
}

// Str returns the string member of data named key, or "" if there is none.
func (r *Record) Str(key string) string {
	if v, ok := r.Data.Get(key); ok && v.Kind == jcs.String {
		return v.Str
	}
	return ""
}

// Num returns the canonical text of the number member of data named key,
// or "" if there is none. Quantities are compared from this text, exactly.
func (r *Record) Num(key string) string {
	if v, ok := r.Data.Get(key); ok && v.Kind == jcs.Number {
		return v.Str
	}
	return ""
}

// TimeField returns the instant of the timestamp member of data named key.
func (r *Record) TimeField(key string) (time.Time, bool) {
	v, ok := r.Data.Get(key)
	if !ok || v.Kind != jcs.String {
		return time.Time{}, false
	}
	return ParseTime(v.Str)
}

// A RecordError says why a record was refused: the input line (1-based,
// 0 when unknown), the record's id when it was readable, the field and the
// rule it breaks. Rule is a stable code; Msg explains it to a person.
type RecordError struct {
	Line  int
	ID    string
	Field string
	Rule  string
	Msg   string
}

// The rules a record can break.
const (
	RuleJSON     = "json"     // not one JSON object
	RuleRequired = "required" // a required field is missing
	RuleType     = "type"     // wrong JSON type
	RuleFormat   = "format"   // wrong shape (pattern, timestamp, length)
	RuleEnum     = "enum"     // not one of the allowed values
	RuleRange    = "range"    // a number outside its bounds
	RuleOrder    = "order"    // fields that must agree do not (start < end, time = end)
	RuleUnknown  = "unknown"  // an envelope field the format does not have
	RuleConflict = "conflict" // same tenant and id as an accepted record, other content
)

func (e *RecordError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.ID != "" {
		fmt.Fprintf(&b, "record %q: ", e.ID)
	}
	if e.Field != "" {
		fmt.Fprintf(&b, "%s: ", e.Field)
	}
	fmt.Fprintf(&b, "%s (rule %s)", e.Msg, e.Rule)
	return b.String()
}

// ParseRecord parses and validates one record given as one JSON object. It
// returns a *RecordError for any input that breaks the format; the error's
// Line is left 0 for the caller to set.
func ParseRecord(line []byte) (*Record, error) {
	var r *Record
	var e *RecordError
	// The envelope object is needed only here: it may be lent.
	err := jcs.ParseFunc(line, func(v jcs.Value) { r, e = newRecord(&v, len(line)) })
	if err != nil {
		return nil, &RecordError{Rule: RuleJSON, Msg: "not valid JSON: " + err.Error()}
	}
	if e != nil {
		return nil, e
	}
	return r, nil
}

// newRecord validates the parsed record v, of a line size bytes long, and
// completes it with its canonical form and hash.
func newRecord(v *jcs.Value, size int) (*Record, *RecordError) {
	if v.Kind != jcs.Object {
		return nil, &RecordError{Rule: RuleJSON, Msg: "a record must be a JSON object, not " + v.Kind.String()}
	}
	r := &Record{}
	if e := r.envelope(v); e != nil {
		return nil, e
	}
	if e := validateData(r.Type, &r.Data, "data"); e != nil {
		e.ID = r.ID
		return nil, e
	}
	if e := r.checkEnvelopeRules(); e != nil {
		e.ID = r.ID
		return nil, e
	}
	r.Canonical = jcs.Append(make([]byte, 0, size), v)
	r.hash = sha256.Sum256(r.Canonical)
	return r, nil
}

func (r *Record) envelope(v *jcs.Value) *RecordError {
	var seen [7]bool
	var tm string
	for i := range v.Members {
		m := &v.Members[i]
		switch m.Key {
		case "id", "tenant", "source", "type", "time", "actor":
			if m.Value.Kind != jcs.String {
				return &RecordError{Field: m.Key, Rule: RuleType, Msg: "must be a string"}
			}
		}
		switch m.Key {
		case "id":
			seen[0], r.ID = true, m.Value.Str
		case "tenant":
			seen[1], r.Tenant = true, m.Value.Str
		case "source":
			seen[2], r.Source = true, m.Value.Str
		case "type":
			seen[3], r.Type = true, m.Value.Str
		case "time":
			seen[4], tm = true, m.Value.Str
		case "actor":
			seen[5], r.Actor = true, m.Value.Str
		case "data":
			if m.Value.Kind != jcs.Object {
				return &RecordError{Field: "data", Rule: RuleType, Msg: "must be an object"}
			}
			seen[6], r.Data = true, m.Value
		default:
			return &RecordError{Field: m.Key, Rule: RuleUnknown, Msg: "is not a field of the record envelope"}
		}
	}
	for i, name := range []string{"id", "tenant", "source", "type", "time", "", "data"} {
		if name != "" && !seen[i] {
			return &RecordError{Field: name, Rule: RuleRequired, Msg: "is required"}
		}
	}
	if !ValidID(r.ID) {
		return &RecordError{Field: "id", Rule: RuleFormat, Msg: "must be 1-128 characters of A-Za-z0-9._:-"}
	}
	if !ValidTenant(r.Tenant) {
		return &RecordError{ID: r.ID, Field: "tenant", Rule: RuleFormat, Msg: "must be 1-64 characters of a-z0-9-"}
	}
	if !ValidSource(r.Source) {
		return &RecordError{ID: r.ID, Field: "source", Rule: RuleFormat, Msg: "must be a /-separated path of 1-256 characters with no empty segment"}
	}
	if _, ok := schemas[r.Type]; !ok {
		return &RecordError{ID: r.ID, Field: "type", Rule: RuleEnum, Msg: fmt.Sprintf("unknown record type %q", r.Type)}
	}
	t, ok := ParseTime(tm)
	if !ok {
		return &RecordError{ID: r.ID, Field: "time", Rule: RuleFormat, Msg: "must be an RFC 3339 timestamp with an offset"}
	}
	r.Time = t
	if (strings.HasPrefix(r.Type, "exception.") || r.Type == "evidence.access") && r.Actor == "" {
		// A workflow action, or a look at evidence, is worth only as much
		// as who took it.
		return &RecordError{ID: r.ID, Field: "actor", Rule: RuleRequired, Msg: "is required for " + r.Type}
	}
	return nil
}

// ValidID reports whether s is a well-formed record id.
func ValidID(s string) bool {
	if len(s) < 1 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// ValidTenant reports whether s is a well-formed tenant name.
func ValidTenant(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ValidSource reports whether s may be a record's source: a /-separated
// path of 1 to 256 bytes with no empty segment and no control character.
func ValidSource(s string) bool {
	if len(s) < 1 || len(s) > 256 {
		return false
	}
	if s[0] == '/' || s[len(s)-1] == '/' || strings.Contains(s, "//") {
		return false // an empty segment
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// checkEnvelopeRules checks the rules that tie data to the envelope.
func (r *Record) checkEnvelopeRules() *RecordError {
	return envelopeRules(r.Type, &r.Data, r.Time, "data")
}

// envelopeRules checks the rules of a type that tie its data to the
// record's time: for intervals time = end; for a gap, time at or after until.
func envelopeRules(typ string, data *jcs.Value, t time.Time, prefix string) *RecordError {
	switch typ {
	case "production.count", "machine.runtime":
		end, _ := timeMember(data, "end")
		if !end.Equal(t) {
			return &RecordError{Field: "time", Rule: RuleOrder, Msg: "must be the same instant as " + prefix + ".end"}
		}
	case "source.gap":
		if until, ok := timeMember(data, "until"); ok && t.Before(until) {
			return &RecordError{Field: "time", Rule: RuleOrder, Msg: "must be at or after " + prefix + ".until"}
		}
	}
	return nil
}

// ConsistentWith reports whether replacement data for a record of type typ
// keep the rules that tie data to the envelope of a record at time t; a
// correction takes effect only then (records.md, Corrections).
func ConsistentWith(typ string, data *jcs.Value, t time.Time) bool {
	return envelopeRules(typ, data, t, "data") == nil
}

func timeMember(data *jcs.Value, key string) (time.Time, bool) {
	v, ok := data.Get(key)
	if !ok || v.Kind != jcs.String {
		return time.Time{}, false
	}
	return ParseTime(v.Str)
}

// fieldType is what a data member must hold.
type fieldType uint8

const (
	tString  fieldType = iota // a string
	tTime                     // an RFC 3339 timestamp with offset
	tNumber                   // any number
	tNonNeg                   // a number ≥ 0
	tBool                     // true or false
	tInt0                     // an integer ≥ 0
	tInt1                     // an integer ≥ 1
	tStrings                  // an array of strings
	tObject                   // an object (a correction's data)
	tID                       // a record id
)

type field struct {
	name     string
	typ      fieldType
	required bool
	enum     []string
}

// in names the field in errors, where prefix names the object that holds
// it. It is called only for an error: most records break no rule, and the
// name is a concatenation.
func (f field) in(prefix string) string { return prefix + "." + f.name }

func req(name string, t fieldType, enum ...string) field { return field{name, t, true, enum} }
func opt(name string, t fieldType, enum ...string) field { return field{name, t, false, enum} }

var levels = []string{"low", "medium", "high", "critical"}

// schemas lists each record type's data fields (records.md, Types). Members
// not listed are kept as sent.
var schemas = map[string][]field{
	"production.count":  {req("line", tString), opt("batch_id", tString), req("product", tString), req("quantity", tNonNeg), req("unit", tString), req("start", tTime), req("end", tTime)},
	"batch.start":       {req("batch_id", tString), req("line", tString), req("product", tString), req("recipe", tString), req("recipe_version", tString)},
	"batch.end":         {req("batch_id", tString), req("line", tString), req("quantity_good", tNonNeg), req("quantity_scrap", tNonNeg), req("unit", tString), opt("signed_by", tString)},
	"unit.serial":       {req("serial", tString), req("batch_id", tString)},
	"machine.runtime":   {req("line", tString), opt("batch_id", tString), req("start", tTime), req("end", tTime), req("run_seconds", tNonNeg)},
	"historian.sample":  {req("tag", tString), req("value", tNumber), opt("quality", tString, "good", "bad", "uncertain")},
	"alarm":             {req("alarm_id", tString), req("tag", tString), req("priority", tString, levels...), req("state", tString, "active", "acked", "cleared"), opt("message", tString)},
	"downtime":          {req("downtime_id", tString), req("line", tString), req("start", tTime), req("end", tTime), opt("reason", tString)},
	"incident.open":     {req("incident_id", tString), req("severity", tString, levels...), opt("refs", tStrings), opt("summary", tString)},
	"incident.escalate": {req("incident_id", tString), req("level", tInt1), req("to", tString)},
	"incident.close":    {req("incident_id", tString), opt("root_cause", tString), opt("loss_quantity", tNonNeg), opt("unit", tString)},
	"change.request":    {req("change_id", tString), req("target", tString), req("content_sha256", tString), opt("emergency", tBool), opt("summary", tString)},
	"change.approve":    {req("change_id", tString)},
	"change.deploy":     {req("target", tString), req("content_sha256", tString), opt("change_id", tString)},
	"config.snapshot":   {req("target", tString), req("content_sha256", tString)},
	"access.grant":      {req("user", tString), req("role", tString), req("scope", tString), opt("approved_by", tString)},
	"access.revoke":     {req("user", tString), req("role", tString), req("scope", tString)},
	"access.login":      {req("user", tString), req("success", tBool)},
	"data.export":       {req("dataset", tString), opt("batch_ids", tStrings)},
	"hr.termination":    {req("user", tString), req("effective", tTime)},
	"erp.posting":       {req("document", tString), req("movement", tString, "goods_receipt", "scrap", "reversal"), opt("batch_id", tString), opt("incident_id", tString), req("material", tString), req("quantity", tNumber), req("unit", tString), opt("reverses", tString)},
	"erp.confirmation":  {req("document", tString), req("batch_id", tString), req("activity", tString, "machine_hours", "labour_hours"), req("quantity", tNonNeg), req("unit", tString, "h")},
	"source.gap":        {req("detail", tString), req("since", tTime), opt("until", tTime), opt("expected_seq", tInt0), opt("received_seq", tInt0)},
	"review.signoff":    {req("review", tString, "access-review", "monitoring-review"), req("period", tString), req("evidence_sha256", tString)},
	"correction":        {req("corrects", tID), req("type", tString), req("reason", tString), req("data", tObject)},
	// The exception workflow (docs/records-workflow.md): actions on a
	// control's exception, by the person named in actor.
	"exception.explain":   {req("control", tString), req("subject", tString), req("explanation", tString)},
	"exception.remediate": {req("control", tString), req("subject", tString), req("remediation", tString)},
	"exception.accept":    {req("control", tString), req("subject", tString), req("response", tString)},
	// A rotation of the deployment's checkpoint signing key, written by the
	// ledger into every tenant's log (docs/witnesses.md): the announcement
	// is a signed note by the old key and the new one. A record of this type
	// that the key in force did not sign introduces nothing.
	"ledger.key": {req("old_key", tString), req("new_key", tString), req("announcement", tString)},
	// A person's view or download of evidence (docs/access.md), written by
	// waarborg serve in the tenant's own log.
	"evidence.access": {req("action", tString, "view", "download"), req("object", tString), opt("records", tStrings)},
}

// Types returns the record types of format v1.
func Types() []string {
	ts := make([]string, 0, len(schemas))
	for t := range schemas {
		ts = append(ts, t)
	}
	return ts
}

// validateData checks data against the fields of typ and the rules between
// them. prefix names data in errors ("data", or "data.data" in a correction).
func validateData(typ string, data *jcs.Value, prefix string) *RecordError {
	for _, f := range schemas[typ] {
		v, ok := data.Get(f.name)
		if !ok {
			if f.required {
				return &RecordError{Field: f.in(prefix), Rule: RuleRequired, Msg: "is required for " + typ}
			}
			continue
		}
		if e := checkField(f, v, prefix); e != nil {
			return e
		}
	}
	switch typ {
	case "production.count", "machine.runtime", "source.gap":
		from, to := "start", "end"
		if typ == "source.gap" {
			from, to = "since", "until"
		}
		start, _ := timeMember(data, from)
		end, ok := timeMember(data, to)
		if !ok {
			break // an open gap
		}
		if typ == "source.gap" {
			break // records.md ties only the gap's time to until
		}
		if !start.Before(end) {
			return &RecordError{Field: prefix + "." + from, Rule: RuleOrder, Msg: "must be before " + prefix + "." + to}
		}
		if typ == "machine.runtime" {
			rs, _ := data.Get("run_seconds")
			if rs.Rat().Cmp(durationRat(end.Sub(start))) > 0 {
				return &RecordError{Field: prefix + ".run_seconds", Rule: RuleRange, Msg: "must not exceed end - start"}
			}
		}
	case "correction":
		ct, _ := data.Get("type")
		if _, ok := schemas[ct.Str]; !ok {
			return &RecordError{Field: prefix + ".type", Rule: RuleEnum, Msg: fmt.Sprintf("unknown record type %q", ct.Str)}
		}
		inner, _ := data.Get("data")
		return validateData(ct.Str, inner, prefix+".data")
	}
	return nil
}

func checkField(f field, v *jcs.Value, prefix string) *RecordError {
	typeErr := func(what string) *RecordError {
		return &RecordError{Field: f.in(prefix), Rule: RuleType, Msg: "must be " + what}
	}
	switch f.typ {
	case tString, tTime, tID:
		if v.Kind != jcs.String {
			return typeErr("a string")
		}
	case tNumber, tNonNeg, tInt0, tInt1:
		if v.Kind != jcs.Number {
			return typeErr("a number")
		}
	case tBool:
		if v.Kind != jcs.Bool {
			return typeErr("true or false")
		}
	case tStrings:
		if v.Kind != jcs.Array {
			return typeErr("an array of strings")
		}
		for i := range v.Items {
			if v.Items[i].Kind != jcs.String {
				return &RecordError{Field: f.in(prefix) + "[" + strconv.Itoa(i) + "]", Rule: RuleType, Msg: "must be a string"}
			}
		}
	case tObject:
		if v.Kind != jcs.Object {
			return typeErr("an object")
		}
	}
	switch f.typ {
	case tTime:
		if _, ok := ParseTime(v.Str); !ok {
			return &RecordError{Field: f.in(prefix), Rule: RuleFormat, Msg: "must be an RFC 3339 timestamp with an offset"}
		}
	case tID:
		if !ValidID(v.Str) {
			return &RecordError{Field: f.in(prefix), Rule: RuleFormat, Msg: "must be a record id (1-128 characters of A-Za-z0-9._:-)"}
		}
	case tNonNeg:
		if strings.HasPrefix(v.Str, "-") {
			return &RecordError{Field: f.in(prefix), Rule: RuleRange, Msg: "must be ≥ 0"}
		}
	case tInt0, tInt1:
		n, err := strconv.ParseInt(v.Str, 10, 64)
		if err != nil {
			return &RecordError{Field: f.in(prefix), Rule: RuleType, Msg: "must be an integer"}
		}
		if lo := int64(f.typ - tInt0); n < lo {
			return &RecordError{Field: f.in(prefix), Rule: RuleRange, Msg: fmt.Sprintf("must be ≥ %d", lo)}
		}
	}
	if f.enum != nil {
		for _, e := range f.enum {
			if v.Str == e {
				return nil
			}
		}
		return &RecordError{Field: f.in(prefix), Rule: RuleEnum, Msg: "must be one of " + strings.Join(f.enum, ", ")}
	}
	return nil
}

func durationRat(d time.Duration) *big.Rat { return big.NewRat(int64(d), int64(time.Second)) }
