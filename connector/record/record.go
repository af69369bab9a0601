// Package record builds evidence records for connectors: it writes the JSON
// of one record from its envelope and data fields, keeping number texts as
// they were read (never through a binary float), parses it with
// waarborg.ParseRecord so that a connector only ever hands valid records
// on, and derives record ids from what a record is about, so that reading
// the same input twice gives the same ids (idempotent re-import).
//
// Connectors import it; it imports only the domain.
package record

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/jcs"
)

// A Field is one member of a record's data.
type Field struct {
	Key   string
	value string // a JSON string's value or a number's text
	kind  jcs.Kind
}

// String is a string member.
func String(key, v string) Field { return Field{Key: key, value: v, kind: jcs.String} }

// Number is a number member given as its text, which must be a JSON number
// (ParseRecord refuses the record otherwise). The text is written as is.
func Number(key, text string) Field { return Field{Key: key, value: text, kind: jcs.Number} }

// Bool is a boolean member.
func Bool(key string, v bool) Field {
	s := "false"
	if v {
		s = "true"
	}
	return Field{Key: key, value: s, kind: jcs.Bool}
}

// Envelope is what every record has beside its data.
type Envelope struct {
	ID, Tenant, Source, Type string
	Time                     string // RFC 3339 with an offset
	Actor                    string // optional
}

// New writes the record's JSON and parses it. A field with an empty key is
// left out, so that optional members can be written as String("", "").
// The error is the *waarborg.RecordError of ParseRecord.
func New(env Envelope, data ...Field) (*waarborg.Record, error) {
	return waarborg.ParseRecord(JSON(env, data...))
}

// JSON writes the record as one line of JSON, without checking it.
func JSON(env Envelope, data ...Field) []byte {
	b := make([]byte, 0, 256)
	b = append(b, `{"id":`...)
	b = jcs.AppendString(b, env.ID)
	b = append(b, `,"tenant":`...)
	b = jcs.AppendString(b, env.Tenant)
	b = append(b, `,"source":`...)
	b = jcs.AppendString(b, env.Source)
	b = append(b, `,"type":`...)
	b = jcs.AppendString(b, env.Type)
	b = append(b, `,"time":`...)
	b = jcs.AppendString(b, env.Time)
	if env.Actor != "" {
		b = append(b, `,"actor":`...)
		b = jcs.AppendString(b, env.Actor)
	}
	b = append(b, `,"data":{`...)
	first := true
	for _, f := range data {
		if f.Key == "" {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = jcs.AppendString(b, f.Key)
		b = append(b, ':')
		if f.kind == jcs.String {
			b = jcs.AppendString(b, f.value)
		} else {
			b = append(b, f.value...)
		}
	}
	return append(b, "}}"...)
}

// ID returns a record id for what parts name: prefix and the parts joined
// by ':' when that is a valid id (readable, as a person would search for
// it), otherwise prefix followed by the first 128 bits of the SHA-256 of the
// parts in hex. The same parts always give the same id.
func ID(prefix string, parts ...string) string {
	readable := prefix + ":" + strings.Join(parts, ":")
	if waarborg.ValidID(readable) {
		return readable
	}
	return HashID(prefix, parts...)
}

// HashID is ID that always hashes: for parts that hold free text.
func HashID(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return prefix + ":" + hex.EncodeToString(h.Sum(nil)[:16])
}
