package sparkplug

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// The Sparkplug B payload is a protobuf message (Sparkplug 3.0, chapter 6,
// "Payloads"). It is read here field by field with protowire from the field
// numbers the specification gives, so that no code generated from the
// EPL-licensed .proto file is needed:
//
//	Payload:  1 timestamp (uint64), 2 metrics (Metric, repeated), 3 seq (uint64),
//	          4 uuid (string), 5 body (bytes), 6.. extensions
//	Metric:   1 name (string), 2 alias (uint64), 3 timestamp (uint64),
//	          4 datatype (uint32), 5 is_historical, 6 is_transient, 7 is_null (bool),
//	          8 metadata, 9 properties (messages, skipped),
//	          value, one of: 10 int_value (uint32), 11 long_value (uint64),
//	          12 float_value (float), 13 double_value (double), 14 boolean_value (bool),
//	          15 string_value (string), 16 bytes_value (bytes), 17 dataset_value,
//	          18 template_value, 19 extension_value (messages, kept as bytes)
//
// Fields this package does not know are skipped, as protobuf readers do.

// The metric datatypes of Sparkplug 3.0 (section 6.4.16) that the connector
// reads values of. Others (DataSet, Template, arrays, ...) are decoded as
// raw bytes and not mapped.
const (
	TypeUnknown  uint32 = 0
	TypeInt8     uint32 = 1
	TypeInt16    uint32 = 2
	TypeInt32    uint32 = 3
	TypeInt64    uint32 = 4
	TypeUInt8    uint32 = 5
	TypeUInt16   uint32 = 6
	TypeUInt32   uint32 = 7
	TypeUInt64   uint32 = 8
	TypeFloat    uint32 = 9
	TypeDouble   uint32 = 10
	TypeBoolean  uint32 = 11
	TypeString   uint32 = 12
	TypeDateTime uint32 = 13
	TypeText     uint32 = 14
	TypeUUID     uint32 = 15
)

// A Payload is a decoded Sparkplug B payload.
type Payload struct {
	Timestamp    uint64 // ms since the Unix epoch; valid if HasTimestamp
	HasTimestamp bool
	Seq          uint64 // valid if HasSeq
	HasSeq       bool
	UUID         string
	Body         []byte
	Metrics      []Metric
}

// The kinds of value a metric can carry (the protobuf oneof).
const (
	ValueNone = iota
	ValueInt
	ValueLong
	ValueFloat
	ValueDouble
	ValueBool
	ValueString
	ValueBytes // bytes_value, or a dataset, template or extension kept raw
)

// A Metric is one metric of a payload. Exactly one of the value fields is
// set, as Value says; IsNull metrics carry none.
type Metric struct {
	Name         string
	HasName      bool
	Alias        uint64
	HasAlias     bool
	Timestamp    uint64
	HasTimestamp bool
	Datatype     uint32
	IsHistorical bool
	IsTransient  bool
	IsNull       bool

	Value  int // ValueNone, ValueInt, ...
	Int    uint32
	Long   uint64
	Float  float32
	Double float64
	Bool   bool
	String string
	Bytes  []byte
}

// ErrPayload is wrapped by every decoding error.
var ErrPayload = errors.New("malformed sparkplug payload")

// DecodePayload decodes a Sparkplug B payload. It never panics on bad
// input: a truncated or malformed message is an error wrapping ErrPayload.
func DecodePayload(b []byte) (*Payload, error) {
	p := &Payload{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, fmt.Errorf("%w: %v", ErrPayload, protowire.ParseError(n))
		}
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, perr("timestamp", n)
			}
			p.Timestamp, p.HasTimestamp, b = v, true, b[n:]
		case num == 2 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, perr("metric", n)
			}
			m, err := decodeMetric(v)
			if err != nil {
				return nil, fmt.Errorf("metric %d: %w", len(p.Metrics)+1, err)
			}
			p.Metrics, b = append(p.Metrics, m), b[n:]
		case num == 3 && typ == protowire.VarintType:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return nil, perr("seq", n)
			}
			p.Seq, p.HasSeq, b = v, true, b[n:]
		case num == 4 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, perr("uuid", n)
			}
			p.UUID, b = string(v), b[n:]
		case num == 5 && typ == protowire.BytesType:
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return nil, perr("body", n)
			}
			p.Body, b = v, b[n:]
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return nil, perr(fmt.Sprintf("field %d", num), n)
			}
			b = b[n:]
		}
	}
	return p, nil
}

func perr(field string, n int) error {
	return fmt.Errorf("%w: %s: %v", ErrPayload, field, protowire.ParseError(n))
}

func decodeMetric(b []byte) (Metric, error) {
	var m Metric
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return m, perr("tag", n)
		}
		b = b[n:]
		switch {
		case typ == protowire.VarintType && num <= 14 && num != 8 && num != 9 && num != 12 && num != 13:
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return m, perr(fmt.Sprintf("field %d", num), n)
			}
			b = b[n:]
			switch num {
			case 2:
				m.Alias, m.HasAlias = v, true
			case 3:
				m.Timestamp, m.HasTimestamp = v, true
			case 4:
				m.Datatype = uint32(v)
			case 5:
				m.IsHistorical = v != 0
			case 6:
				m.IsTransient = v != 0
			case 7:
				m.IsNull = v != 0
			case 10:
				m.Value, m.Int = ValueInt, uint32(v)
			case 11:
				m.Value, m.Long = ValueLong, v
			case 14:
				m.Value, m.Bool = ValueBool, v != 0
			}
		case num == 12 && typ == protowire.Fixed32Type:
			v, n := protowire.ConsumeFixed32(b)
			if n < 0 {
				return m, perr("float_value", n)
			}
			m.Value, m.Float, b = ValueFloat, math.Float32frombits(v), b[n:]
		case num == 13 && typ == protowire.Fixed64Type:
			v, n := protowire.ConsumeFixed64(b)
			if n < 0 {
				return m, perr("double_value", n)
			}
			m.Value, m.Double, b = ValueDouble, math.Float64frombits(v), b[n:]
		case typ == protowire.BytesType && (num == 1 || num == 15 || num == 16 || num == 17 || num == 18 || num == 19):
			v, n := protowire.ConsumeBytes(b)
			if n < 0 {
				return m, perr(fmt.Sprintf("field %d", num), n)
			}
			b = b[n:]
			switch num {
			case 1:
				m.Name, m.HasName = string(v), true
			case 15:
				m.Value, m.String = ValueString, string(v)
			default:
				m.Value, m.Bytes = ValueBytes, v
			}
		default:
			n := protowire.ConsumeFieldValue(num, typ, b)
			if n < 0 {
				return m, perr(fmt.Sprintf("field %d", num), n)
			}
			b = b[n:]
		}
	}
	return m, nil
}

// Number returns the metric's value as a number, read as its datatype says
// (Sparkplug 3.0, 6.4.16): signed integer types are two's complement in
// int_value or long_value. Booleans are 0 or 1. ok is false for null
// metrics and values that are not numbers.
func (m *Metric) Number() (f float64, ok bool) {
	if m.IsNull {
		return 0, false
	}
	if i, ok := m.Integer(); ok {
		return float64(i), true
	}
	switch m.Value {
	case ValueFloat:
		f = float64(m.Float)
	case ValueDouble:
		f = m.Double
	case ValueBool:
		if m.Bool {
			return 1, true
		}
		return 0, true
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// Integer returns the value of an integer metric (Int8 ... UInt64, or an
// unknown datatype carrying int_value or long_value). UInt64 values above
// the int64 range are not integers here.
func (m *Metric) Integer() (int64, bool) {
	if m.IsNull {
		return 0, false
	}
	var raw uint64
	switch m.Value {
	case ValueInt:
		raw = uint64(m.Int)
	case ValueLong:
		raw = m.Long
	default:
		return 0, false
	}
	switch m.Datatype {
	case TypeInt8:
		return int64(int8(raw)), true
	case TypeInt16:
		return int64(int16(raw)), true
	case TypeInt32:
		return int64(int32(raw)), true
	case TypeInt64:
		return int64(raw), true
	case TypeUInt8:
		return int64(uint8(raw)), true
	case TypeUInt16:
		return int64(uint16(raw)), true
	case TypeUInt32:
		return int64(uint32(raw)), true
	case TypeUInt64, TypeDateTime, TypeUnknown:
		if raw > math.MaxInt64 {
			return 0, false
		}
		return int64(raw), true
	}
	return 0, false
}

// Bits is the width of an unsigned integer datatype, the modulus at which a
// counter of that type wraps; 0 for other types.
func (m *Metric) Bits() uint {
	switch m.Datatype {
	case TypeUInt8:
		return 8
	case TypeUInt16:
		return 16
	case TypeUInt32:
		return 32
	case TypeUInt64:
		return 63 // what an int64 holds
	}
	return 0
}

// AppendPayload encodes p as Sparkplug B (the same field numbers as
// DecodePayload). The host uses it for its commands; tests use it too.
func AppendPayload(b []byte, p *Payload) []byte {
	if p.HasTimestamp {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, p.Timestamp)
	}
	for i := range p.Metrics {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendBytes(b, appendMetric(nil, &p.Metrics[i]))
	}
	if p.HasSeq {
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, p.Seq)
	}
	if p.UUID != "" {
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendString(b, p.UUID)
	}
	if p.Body != nil {
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendBytes(b, p.Body)
	}
	return b
}

func appendMetric(b []byte, m *Metric) []byte {
	varint := func(num protowire.Number, v uint64) {
		b = protowire.AppendTag(b, num, protowire.VarintType)
		b = protowire.AppendVarint(b, v)
	}
	bool1 := func(v bool) uint64 {
		if v {
			return 1
		}
		return 0
	}
	if m.HasName {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, m.Name)
	}
	if m.HasAlias {
		varint(2, m.Alias)
	}
	if m.HasTimestamp {
		varint(3, m.Timestamp)
	}
	varint(4, uint64(m.Datatype))
	if m.IsHistorical {
		varint(5, 1)
	}
	if m.IsTransient {
		varint(6, 1)
	}
	if m.IsNull {
		varint(7, 1)
	}
	switch m.Value {
	case ValueInt:
		varint(10, uint64(m.Int))
	case ValueLong:
		varint(11, m.Long)
	case ValueFloat:
		b = protowire.AppendTag(b, 12, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(m.Float))
	case ValueDouble:
		b = protowire.AppendTag(b, 13, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(m.Double))
	case ValueBool:
		varint(14, bool1(m.Bool))
	case ValueString:
		b = protowire.AppendTag(b, 15, protowire.BytesType)
		b = protowire.AppendString(b, m.String)
	case ValueBytes:
		b = protowire.AppendTag(b, 16, protowire.BytesType)
		b = protowire.AppendBytes(b, m.Bytes)
	}
	return b
}
