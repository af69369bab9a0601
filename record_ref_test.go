package waarborg

// ParseRecord's validation and ParseTime as they were before parsing was
// made cheaper, kept as the reference that FuzzParseRecordSameAsReference
// holds the current ones to: same records, same errors. (The JSON parser
// underneath has its own reference in package jcs.)

import (
	"crypto/sha256"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/waarborg/waarborg/jcs"
)

// refParseRecord parses and validates one record given as one JSON object. It
// returns a *RecordError for any input that breaks the format; the error's
// Line is left 0 for the caller to set.
func refParseRecord(line []byte) (*Record, error) {
	v, err := jcs.Parse(line)
	if err != nil {
		return nil, &RecordError{Rule: RuleJSON, Msg: "not valid JSON: " + err.Error()}
	}
	if v.Kind != jcs.Object {
		return nil, &RecordError{Rule: RuleJSON, Msg: "a record must be a JSON object, not " + v.Kind.String()}
	}
	r := &Record{}
	if e := refEnvelope(r, &v); e != nil {
		return nil, e
	}
	if e := refValidateData(r.Type, &r.Data, "data"); e != nil {
		e.ID = r.ID
		return nil, e
	}
	if e := refEnvelopeRules(r.Type, &r.Data, r.Time, "data"); e != nil {
		e.ID = r.ID
		return nil, e
	}
	r.Canonical = jcs.Append(make([]byte, 0, len(line)), &v)
	r.hash = sha256.Sum256(r.Canonical)
	return r, nil
}

func refEnvelope(r *Record, v *jcs.Value) *RecordError {
	var seen [7]bool
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
			seen[4] = true
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
	tv, _ := v.Get("time")
	t, ok := refParseTime(tv.Str)
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

// refEnvelopeRules checks the rules of a type that tie its data to the
// record's time: for intervals time = end; for a gap, time at or after until.
func refEnvelopeRules(typ string, data *jcs.Value, t time.Time, prefix string) *RecordError {
	switch typ {
	case "production.count", "machine.runtime":
		end, _ := refTimeMember(data, "end")
		if !end.Equal(t) {
			return &RecordError{Field: "time", Rule: RuleOrder, Msg: "must be the same instant as " + prefix + ".end"}
		}
	case "source.gap":
		if until, ok := refTimeMember(data, "until"); ok && t.Before(until) {
			return &RecordError{Field: "time", Rule: RuleOrder, Msg: "must be at or after " + prefix + ".until"}
		}
	}
	return nil
}

func refTimeMember(data *jcs.Value, key string) (time.Time, bool) {
	v, ok := data.Get(key)
	if !ok || v.Kind != jcs.String {
		return time.Time{}, false
	}
	return refParseTime(v.Str)
}

// refValidateData checks data against the fields of typ and the rules between
// them. prefix names data in errors ("data", or "data.data" in a correction).
func refValidateData(typ string, data *jcs.Value, prefix string) *RecordError {
	for _, f := range schemas[typ] {
		v, ok := data.Get(f.name)
		name := prefix + "." + f.name
		if !ok {
			if f.required {
				return &RecordError{Field: name, Rule: RuleRequired, Msg: "is required for " + typ}
			}
			continue
		}
		if e := refCheckField(f, v, name); e != nil {
			return e
		}
	}
	switch typ {
	case "production.count", "machine.runtime", "source.gap":
		from, to := "start", "end"
		if typ == "source.gap" {
			from, to = "since", "until"
		}
		start, _ := refTimeMember(data, from)
		end, ok := refTimeMember(data, to)
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
		return refValidateData(ct.Str, inner, prefix+".data")
	}
	return nil
}

func refCheckField(f field, v *jcs.Value, name string) *RecordError {
	typeErr := func(what string) *RecordError {
		return &RecordError{Field: name, Rule: RuleType, Msg: "must be " + what}
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
				return &RecordError{Field: name + "[" + strconv.Itoa(i) + "]", Rule: RuleType, Msg: "must be a string"}
			}
		}
	case tObject:
		if v.Kind != jcs.Object {
			return typeErr("an object")
		}
	}
	switch f.typ {
	case tTime:
		if _, ok := refParseTime(v.Str); !ok {
			return &RecordError{Field: name, Rule: RuleFormat, Msg: "must be an RFC 3339 timestamp with an offset"}
		}
	case tID:
		if !ValidID(v.Str) {
			return &RecordError{Field: name, Rule: RuleFormat, Msg: "must be a record id (1-128 characters of A-Za-z0-9._:-)"}
		}
	case tNonNeg:
		if strings.HasPrefix(v.Str, "-") {
			return &RecordError{Field: name, Rule: RuleRange, Msg: "must be ≥ 0"}
		}
	case tInt0, tInt1:
		n, err := strconv.ParseInt(v.Str, 10, 64)
		if err != nil {
			return &RecordError{Field: name, Rule: RuleType, Msg: "must be an integer"}
		}
		if lo := int64(f.typ - tInt0); n < lo {
			return &RecordError{Field: name, Rule: RuleRange, Msg: fmt.Sprintf("must be ≥ %d", lo)}
		}
	}
	if f.enum != nil {
		for _, e := range f.enum {
			if v.Str == e {
				return nil
			}
		}
		return &RecordError{Field: name, Rule: RuleEnum, Msg: "must be one of " + strings.Join(f.enum, ", ")}
	}
	return nil
}

// refParseTime returns the instant, in UTC, of an RFC 3339 timestamp that carries an offset ("Z" or
// ±hh:mm), with any number of fractional digits. The date must exist and a
// leap second is refused, so that one text always means one instant.
func refParseTime(s string) (time.Time, bool) {
	// 2006-01-02T15:04:05Z is the shortest form.
	// RFC 3339 (5.6) allows "t" and "z" in lower case.
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := refAtoi(s[0:4])
	month, ok2 := refAtoi(s[5:7])
	day, ok3 := refAtoi(s[8:10])
	hour, ok4 := refAtoi(s[11:13])
	minute, ok5 := refAtoi(s[14:16])
	sec, ok6 := refAtoi(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > refDaysIn(time.Month(month), year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	rest := s[19:]
	nsec := 0
	if rest[0] == '.' {
		i := 1
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			if i <= 9 {
				nsec = nsec*10 + int(rest[i]-'0')
			}
			i++
		}
		if i == 1 {
			return time.Time{}, false
		}
		for d := min(i, 10); d <= 9; d++ {
			nsec *= 10
		}
		rest = rest[i:]
	}
	off := 0
	switch {
	case rest == "Z" || rest == "z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, okh := refAtoi(rest[1:3])
		om, okm := refAtoi(rest[4:6])
		if !okh || !okm || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		off = (oh*60 + om) * 60
		if rest[0] == '-' {
			off = -off
		}
	default:
		return time.Time{}, false
	}
	// Instants are what the spec compares; the offset stays in the record's text.
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(off) * time.Second), true
}

func refAtoi(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func refDaysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
