package sparkplug

import (
	"encoding/hex"
	"errors"
	"math"
	"reflect"
	"testing"
)

// tahuNBirth is an NBIRTH that the Eclipse Tahu JavaScript client
// (sparkplug-payload 1.0.3) encoded for
//
//	{timestamp: 1772344800000, seq: 0, metrics: [
//	  {name: "Line1/GoodCount", alias: 1, type: "UInt32", value: 1000, timestamp: 1772344800000},
//	  {name: "Line1/Temp", alias: 2, type: "Int16", value: -40},
//	  {name: "bdSeq", type: "UInt64", value: 3}]}
//
// It pins the decoder to an independent encoder's bytes.
const tahuNBirth = "0880e6edbfca33121f0a0f4c696e65312f476f6f64436f756e7410011880e6edbfca33200758e80712160a0a" +
	"4c696e65312f54656d701002200250d8ffffff0f120b0a056264536571200858031800"

func TestDecodeTahuPayload(t *testing.T) {
	b, err := hex.DecodeString(tahuNBirth)
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodePayload(b)
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasTimestamp || p.Timestamp != 1772344800000 || !p.HasSeq || p.Seq != 0 || len(p.Metrics) != 3 {
		t.Fatalf("payload = %+v", p)
	}
	want := []struct {
		name  string
		alias uint64
		typ   uint32
		value int64
	}{{"Line1/GoodCount", 1, TypeUInt32, 1000}, {"Line1/Temp", 2, TypeInt16, -40}, {"bdSeq", 0, TypeUInt64, 3}}
	for i, w := range want {
		m := &p.Metrics[i]
		v, ok := m.Integer()
		if m.Name != w.name || m.Alias != w.alias || m.Datatype != w.typ || !ok || v != w.value {
			t.Errorf("metric %d = %+v (value %d, %t), want %+v", i, m, v, ok, w)
		}
	}
	if !p.Metrics[0].HasTimestamp || p.Metrics[0].Timestamp != 1772344800000 {
		t.Errorf("metric timestamp = %d", p.Metrics[0].Timestamp)
	}
}

func TestPayloadRoundTrip(t *testing.T) {
	p := &Payload{
		Timestamp: 1772344800000, HasTimestamp: true, Seq: 255, HasSeq: true, UUID: "u", Body: []byte{1, 2},
		Metrics: []Metric{
			{Name: "a", HasName: true, Alias: 7, HasAlias: true, Datatype: TypeInt8, Value: ValueInt, Int: uint32(0xff)},
			{Alias: 7, HasAlias: true, Datatype: TypeInt64, Value: ValueLong, Long: uint64(math.MaxUint64)},
			{Name: "f", HasName: true, Datatype: TypeFloat, Value: ValueFloat, Float: 1.5},
			{Name: "d", HasName: true, Datatype: TypeDouble, Value: ValueDouble, Double: -2.25, Timestamp: 5, HasTimestamp: true},
			{Name: "b", HasName: true, Datatype: TypeBoolean, Value: ValueBool, Bool: true, IsHistorical: true, IsTransient: true},
			{Name: "s", HasName: true, Datatype: TypeString, Value: ValueString, String: "héllo"},
			{Name: "n", HasName: true, Datatype: TypeDouble, IsNull: true},
			{Name: "x", HasName: true, Datatype: 17, Value: ValueBytes, Bytes: []byte{9}},
		},
	}
	got, err := DecodePayload(AppendPayload(nil, p))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, p)
	}
	for i, want := range []struct {
		v  float64
		ok bool
	}{{-1, true}, {-1, true}, {1.5, true}, {-2.25, true}, {1, true}, {0, false}, {0, false}, {0, false}} {
		if v, ok := got.Metrics[i].Number(); v != want.v || ok != want.ok {
			t.Errorf("metric %d: Number() = %v, %t; want %v, %t", i, v, ok, want.v, want.ok)
		}
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"truncated varint", []byte{0x08, 0x80}},
		{"metric longer than the payload", []byte{0x12, 0x05, 0x0a}},
		{"bad tag", []byte{0x00}},
		{"wrong wire type in a metric", []byte{0x12, 0x02, 0x65, 0x01}},
		{"truncated double", []byte{0x12, 0x03, 0x69, 0x00, 0x00}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := DecodePayload(tc.in); !errors.Is(err, ErrPayload) {
				t.Fatalf("err = %v, want ErrPayload", err)
			}
		})
	}
	// Unknown fields, such as extensions, are skipped.
	if p, err := DecodePayload([]byte{0x30, 0x01, 0x18, 0x05}); err != nil || p.Seq != 5 {
		t.Fatalf("unknown field: %+v, %v", p, err)
	}
}

// FuzzDecodePayload: no input makes the decoder panic, and what it decodes
// encodes to bytes that decode to the same payload.
func FuzzDecodePayload(f *testing.F) {
	b, _ := hex.DecodeString(tahuNBirth)
	f.Add(b)
	f.Add([]byte{})
	f.Add(AppendPayload(nil, &Payload{Seq: 1, HasSeq: true, Metrics: []Metric{{Alias: 1, HasAlias: true, Value: ValueDouble, Double: 1}}}))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := DecodePayload(in)
		if err != nil {
			return
		}
		for i := range p.Metrics {
			p.Metrics[i].Number()
			p.Metrics[i].Integer()
		}
		again, err := DecodePayload(AppendPayload(nil, p))
		if err != nil {
			t.Fatalf("re-encoded payload does not decode: %v", err)
		}
		if len(again.Metrics) != len(p.Metrics) || again.Seq != p.Seq || again.Timestamp != p.Timestamp {
			t.Fatalf("re-encoded payload differs: %+v vs %+v", again, p)
		}
	})
}
