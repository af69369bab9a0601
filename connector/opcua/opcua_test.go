package opcua

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"

	"github.com/waarborg/waarborg/connector/connectortest"
	"github.com/waarborg/waarborg/connector/counter"
)

func TestValue(t *testing.T) {
	tests := []struct {
		name  string
		in    any
		want  uint64
		bits  uint
		fails bool
	}{
		{"uint16", uint16(65535), 65535, 16, false},
		{"uint32", uint32(1 << 31), 1 << 31, 32, false},
		{"uint64", uint64(1 << 40), 1 << 40, 64, false},
		{"int32 wraps as its bits", int32(-1), 1<<32 - 1, 32, false},
		{"int16", int16(-2), 65534, 16, false},
		{"whole double", float64(12), 12, 64, false},
		{"fractional double", 1.5, 0, 0, true},
		{"negative double", -1.0, 0, 0, true},
		{"string", "12", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, bits, err := Value(ua.MustVariant(tt.in))
			if tt.fails {
				if err == nil {
					t.Errorf("Value(%v) = %d, want an error", tt.in, v)
				}
				return
			}
			if err != nil || v != tt.want || bits != tt.bits {
				t.Errorf("Value(%v) = %d, %d, %v; want %d, %d", tt.in, v, bits, err, tt.want, tt.bits)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	m := counter.Mapping{Tenant: "t", Source: "s/opc", Line: "l", Product: "p", Unit: "pcs", Key: "k"}
	base := Config{Endpoint: "opc.tcp://127.0.0.1:4840", Interval: time.Minute, Counters: []Counter{{NodeID: "ns=1;s=C", Mapping: m}}}
	if _, err := New(base); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"not opc.tcp", func(c *Config) { c.Endpoint = "http://x" }, "endpoint"},
		{"unknown policy", func(c *Config) { c.Policy = "Basic128Rsa15" }, "policy"},
		{"no certificate", func(c *Config) { c.Policy = PolicyBasic256Sha256 }, "certificate"},
		{"mode with None", func(c *Config) { c.Mode = "Sign" }, "mode"},
		{"password alone", func(c *Config) { c.Password = "x" }, "username"},
		{"bad node", func(c *Config) { c.Counters = []Counter{{NodeID: "ns=x", Mapping: m}} }, "counters[0].node"},
		{"odd bits", func(c *Config) { c.Counters = []Counter{{NodeID: "i=1", Bits: 12, Mapping: m}} }, "counters[0].bits"},
		{"publish above interval", func(c *Config) { c.Publish = 2 * time.Minute }, "publish"},
		{"retries shrinking", func(c *Config) { c.Retry, c.MaxRetry = time.Minute, time.Second }, "max_retry"},
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

// clientCert makes a self-signed application instance certificate, as an
// OPC UA client needs for Basic256Sha256.
func clientCert(t *testing.T) ([]byte, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	uri, _ := url.Parse("urn:waarborg:test-client")
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "waarborg test client", Organization: []string{"waarborg"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment | x509.KeyUsageKeyEncipherment |
			x509.KeyUsageDataEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{uri},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der, key
}

// nodeOPCUA starts the independent server (npm node-opcua) with counter.
func nodeOPCUA(t *testing.T, port int, pki string, count uint64) *connectortest.Server {
	t.Helper()
	return connectortest.StartServer(t, filepath.Join("testdata", "server"), "server.js", fmt.Sprint(port), pki, fmt.Sprint(count))
}

// TestAgainstNodeOPCUA follows a counter of an independent server (npm
// node-opcua) with each security set-up: the quantities add up, a restart
// of the counter is one gap, and so is a restart of the whole server that
// also resets the counter.
func TestAgainstNodeOPCUA(t *testing.T) {
	certDER, key := clientCert(t)
	pki := t.TempDir()
	trusted := filepath.Join(pki, "server", "trusted", "certs")
	if err := os.MkdirAll(trusted, 0o755); err != nil {
		t.Fatal(err)
	}
	pemCert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certDER})
	if err := os.WriteFile(filepath.Join(trusted, "waarborg.pem"), pemCert, 0o644); err != nil {
		t.Fatal(err)
	}
	port := connectortest.FreePort(t)
	srv := nodeOPCUA(t, port, pki, 100)
	endpoint := fmt.Sprintf("opc.tcp://127.0.0.1:%d", port)

	tests := []struct {
		name string
		cfg  Config
	}{
		{"Basic256Sha256 SignAndEncrypt, user and password", Config{Policy: PolicyBasic256Sha256, Certificate: certDER, PrivateKey: key, Username: "operator", Password: "secret"}},
		{"Basic256Sha256 Sign, anonymous", Config{Policy: PolicyBasic256Sha256, Mode: "Sign", Certificate: certDER, PrivateKey: key}},
		// Last: it restarts the server.
		{"None, anonymous, with restarts", Config{Policy: PolicyNone}},
	}
	t.Run("a wrong password is refused", func(t *testing.T) {
		c, err := New(Config{Endpoint: endpoint, Policy: PolicyBasic256Sha256, Certificate: certDER, PrivateKey: key,
			Username: "operator", Password: "guess", Interval: time.Second,
			Counters: []Counter{{NodeID: "ns=1;s=Line1.GoodCount", Mapping: counter.Mapping{Tenant: "t", Source: "s/o", Line: "l", Product: "p", Unit: "u", Key: "k"}}}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if client, err := c.connect(ctx, make(chan opcua.ConnState, 8)); err == nil {
			client.Close(ctx)
			t.Fatal("connected with a wrong password")
		}
	})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("opc%d", i)
			cfg := tt.cfg
			cfg.Name, cfg.Endpoint = key, endpoint
			cfg.Publish, cfg.Interval, cfg.Retry, cfg.MaxRetry = 50*time.Millisecond, 300*time.Millisecond, 100*time.Millisecond, 300*time.Millisecond
			cfg.Counters = []Counter{{Name: "good", NodeID: "ns=1;s=Line1.GoodCount", Mapping: counter.Mapping{
				Tenant: "vitafood", Source: "ede/line-1/opcua", Line: "line-1", Product: "choco-200g", Unit: "pcs", Key: key,
			}}}
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			sink := connectortest.Run(t, c)
			seen := func(n uint64) func() bool {
				return func() bool { h := c.Health(); return len(h) == 1 && h[0].Messages >= n }
			}
			total := func(want int64) func() bool {
				return func() bool { q, _ := sink.Totals(key + ":"); return q.Cmp(big.NewRat(want, 1)) == 0 }
			}
			connectortest.WaitFor(t, "the first value", seen(1))
			srv.Do(t, "add 7")
			connectortest.WaitFor(t, "the second value", seen(2))
			srv.Do(t, "add 5")
			connectortest.WaitFor(t, "12 counted", total(12))
			if i < len(tests)-1 {
				if _, gaps := sink.Totals(key + ":"); gaps != 0 {
					t.Errorf("%d gaps, want none", gaps)
				}
				return
			}
			// The counter restarts at 0 and counts 4: a reset, one gap.
			srv.Do(t, "set 0")
			connectortest.WaitFor(t, "the reset value", seen(4))
			srv.Do(t, "add 4")
			connectortest.WaitFor(t, "16 counted", total(16))
			if _, gaps := sink.Totals(key + ":"); gaps != 1 {
				t.Errorf("%d gaps after a counter reset, want 1", gaps)
			}
			// The server dies and comes back with its counter reset to 2
			// (one more gap), then counts 3.
			before := c.Health()[0].Messages
			srv.Kill()
			srv = nodeOPCUA(t, port, pki, 2)
			connectortest.WaitFor(t, "a value after the restart", seen(before+1))
			srv.Do(t, "add 3")
			connectortest.WaitFor(t, "21 counted", total(21))
			if _, gaps := sink.Totals(key + ":"); gaps != 2 {
				t.Errorf("%d gaps after a server restart, want 2", gaps)
			}
			for _, r := range sink.Records() {
				if r.Type == "source.gap" {
					t.Logf("%s: %s", r.ID, r.Str("detail"))
				}
			}
		})
	}
}
