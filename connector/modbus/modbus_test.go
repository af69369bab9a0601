package modbus

import (
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waarborg/waarborg/connector"
	"github.com/waarborg/waarborg/connector/connectortest"
	"github.com/waarborg/waarborg/connector/counter"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name       string
		raw        []byte
		low, bswap bool
		want       uint64
	}{
		{"16-bit", []byte{0x12, 0x34}, false, false, 0x1234},
		{"16-bit byte-swapped", []byte{0x34, 0x12}, false, true, 0x1234},
		{"32-bit high word first", []byte{0x12, 0x34, 0x56, 0x78}, false, false, 0x12345678},
		{"32-bit low word first", []byte{0x56, 0x78, 0x12, 0x34}, true, false, 0x12345678},
		{"32-bit low word first, byte-swapped", []byte{0x78, 0x56, 0x34, 0x12}, true, true, 0x12345678},
		{"64-bit", []byte{1, 2, 3, 4, 5, 6, 7, 8}, false, false, 0x0102030405060708},
		{"64-bit low word first", []byte{7, 8, 5, 6, 3, 4, 1, 2}, true, false, 0x0102030405060708},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Decode(tt.raw, tt.low, tt.bswap); got != tt.want {
				t.Errorf("Decode = %#x, want %#x", got, tt.want)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	m := counter.Mapping{Tenant: "t", Source: "s/plc", Line: "l", Product: "p", Unit: "pcs", Key: "k"}
	ok := Counter{Kind: Holding, Bits: 32, Mapping: m}
	base := Config{Endpoint: "127.0.0.1:502", Poll: time.Second, Interval: time.Minute, Counters: []Counter{ok}}
	if _, err := New(base); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no endpoint", func(c *Config) { c.Endpoint = "" }, "endpoint"},
		{"poll above interval", func(c *Config) { c.Poll = 2 * time.Minute }, "poll"},
		{"odd width", func(c *Config) { c.Counters = []Counter{{Kind: Holding, Bits: 24, Mapping: m}} }, "counters[0].bits"},
		{"bad kind", func(c *Config) { c.Counters = []Counter{{Kind: "coil", Bits: 16, Mapping: m}} }, "counters[0].register"},
		{"past the end", func(c *Config) { c.Counters = []Counter{{Kind: Input, Bits: 32, Address: 65535, Mapping: m}} }, "counters[0].address"},
		{"no unit", func(c *Config) {
			bad := m
			bad.Unit = ""
			c.Counters = []Counter{{Kind: Input, Bits: 32, Mapping: bad}}
		}, "unit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.change(&cfg)
			if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

func startServer(t *testing.T, port int, count uint64) *connectortest.Server {
	t.Helper()
	s := connectortest.StartServer(t, filepath.Join("testdata", "server"), "server.js", fmt.Sprint(port))
	s.Do(t, fmt.Sprintf("set %d", count))
	return s
}

// TestAgainstModbusSerial polls an independent server (npm modbus-serial)
// whose 32-bit counter wraps, then restarts with the counter reset: the
// counts add up, and the restart is one gap per counter.
func TestAgainstModbusSerial(t *testing.T) {
	port := connectortest.FreePort(t)
	srv := startServer(t, port, 1<<32-6)
	mapping := func(key string) counter.Mapping {
		return counter.Mapping{Tenant: "vitafood", Source: "ede/line-1/plc", Line: "line-1", Product: "choco-200g", Unit: "pcs", Key: key}
	}
	c, err := New(Config{
		Name: "plc-1", Endpoint: fmt.Sprintf("127.0.0.1:%d", port), Timeout: time.Second,
		Poll: 20 * time.Millisecond, Interval: 200 * time.Millisecond,
		Counters: []Counter{
			{Name: "hr", UnitID: 1, Address: 0, Kind: Holding, Bits: 32, Mapping: mapping("hr")},
			{Name: "ir", UnitID: 1, Address: 10, Kind: Input, Bits: 32, LowWordFirst: true, ByteSwap: true, Mapping: mapping("ir")},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	sink := connectortest.Run(t, c)
	// polled waits until both counters were read n more times.
	polled := func(n uint64) {
		start := messages(c.Health())
		connectortest.WaitFor(t, "polls", func() bool { return messages(c.Health()) >= start+2*n })
	}
	polled(2)
	srv.Do(t, "add 3")
	polled(2)
	srv.Do(t, "add 10") // wraps: 2^32-6+13 = 7
	polled(2)
	srv.Kill()
	time.Sleep(100 * time.Millisecond) // a few failed polls
	srv = startServer(t, port, 5)      // the PLC restarted: the counter is reset
	polled(2)
	srv.Do(t, "add 4")
	for _, key := range []string{"hr", "ir"} {
		connectortest.WaitFor(t, key+" counts", func() bool { q, _ := sink.Totals(key + ":"); return q.Cmp(big.NewRat(22, 1)) == 0 })
		if q, gaps := sink.Totals(key + ":"); gaps != 1 {
			t.Errorf("%s: %d gaps (quantity %s), want 1", key, gaps, q.RatString())
		}
	}
	h := c.Health()
	if len(h) != 1 || h[0].Source != "ede/line-1/plc" || h[0].Gaps != 2 || h[0].Records == 0 {
		t.Errorf("health: %+v", h)
	}
	for _, r := range sink.Records() {
		if r.Type == "source.gap" {
			t.Logf("%s: %s", r.ID, r.Str("detail"))
		}
	}
}

func messages(hs []connector.Health) uint64 {
	var n uint64
	for _, h := range hs {
		n += h.Messages
	}
	return n
}
