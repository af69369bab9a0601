package config

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/waarborg/waarborg/connector"
	"github.com/waarborg/waarborg/connector/connectortest"
)

// writePKI writes a client certificate (PEM) and key (PKCS #8 PEM) to dir.
func writePKI(t *testing.T, dir string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "waarborg"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p8, _ := x509.MarshalPKCS8PrivateKey(key)
	os.MkdirAll(filepath.Join(dir, "pki"), 0o700)
	os.WriteFile(filepath.Join(dir, "pki", "client.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(filepath.Join(dir, "pki", "client.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}), 0o600)
}

const valid = `{"connectors": [
  {"name": "press-1", "kind": "modbus", "endpoint": "127.0.0.1:%d", "poll": "20ms", "interval": "200ms",
   "tenant": "vitafood", "source": "ede/line-1/plc", "line": "line-1", "unit": "pcs",
   "counters": [
     {"name": "good", "unit_id": 1, "register": "holding", "address": 0, "bits": 32, "product": "choco-200g"},
     {"name": "good-ir", "register": "input", "address": 10, "bits": 32, "word_order": "low-first", "byte_order": "little",
      "product": "choco-200g", "factor": "0.5", "unit": "kg"}
   ]},
  {"name": "filler-2", "kind": "opcua", "endpoint": "opc.tcp://127.0.0.1:4840",
   "security": {"policy": "Basic256Sha256", "mode": "Sign", "certificate": "pki/client.pem", "private_key": "pki/client.key"},
   "username": "waarborg", "password_env": "FILLER_PASSWORD", "interval": "1m",
   "tenant": "vitafood", "source": "ede/line-2/opcua", "line": "line-2",
   "counters": [{"name": "good", "node": "ns=2;s=Filler.GoodCount", "product": "choco-100g", "unit": "pcs", "max_step": 1000}]}
]}`

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	path := filepath.Join(dir, "connectors.json")
	os.WriteFile(path, fmt.Appendf(nil, valid, 502), 0o600)
	getenv := func(k string) string {
		if k == "FILLER_PASSWORD" {
			return "secret"
		}
		return ""
	}
	cs, err := Load(path, Options{Getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Name() != "press-1" || cs[1].Name() != "filler-2" {
		t.Fatalf("built %d connectors: %v", len(cs), cs)
	}
	if h := cs[1].Health(); len(h) != 1 || h[0].Source != "ede/line-2/opcua" {
		t.Errorf("health before running: %+v", h)
	}
}

// TestErrorsNameTheField checks that each mistake is reported with the
// path of its field.
func TestErrorsNameTheField(t *testing.T) {
	dir := t.TempDir()
	writePKI(t, dir)
	var base map[string]any
	if err := json.Unmarshal(fmt.Appendf(nil, valid, 502), &base); err != nil {
		t.Fatal(err)
	}
	// edit changes a copy of the valid document at a path of keys and
	// indices; a nil value deletes the member.
	edit := func(value any, path ...any) []byte {
		var doc any
		b, _ := json.Marshal(base)
		json.Unmarshal(b, &doc)
		cur := doc
		for i, p := range path {
			last := i == len(path)-1
			switch k := p.(type) {
			case string:
				m := cur.(map[string]any)
				if last {
					if value == nil {
						delete(m, k)
					} else {
						m[k] = value
					}
				}
				cur = m[k]
			case int:
				cur = cur.([]any)[k]
			}
		}
		out, _ := json.Marshal(doc)
		return out
	}
	c0, c1 := []any{"connectors", 0}, []any{"connectors", 1}
	at := func(prefix []any, rest ...any) []any { return append(append([]any{}, prefix...), rest...) }
	tests := []struct {
		name string
		doc  []byte
		want []string
	}{
		{"not JSON", []byte(`{"connectors": [`), []string{"not JSON"}},
		{"no list", []byte(`{}`), []string{"connectors: is required"}},
		{"unknown top-level field", []byte(`{"connectors": [], "brokers": []}`), []string{"brokers: is not a field here"}},
		{"no kind", edit(nil, at(c0, "kind")...), []string{"connectors[0].kind: is required"}},
		{"unknown kind", edit("profinet", at(c0, "kind")...), []string{`connectors[0].kind: "profinet" is not a connector kind`}},
		{"duplicate name", edit("press-1", at(c1, "name")...), []string{`connectors[1].name: "press-1" is also the name of connectors[0]`}},
		{"bad name", edit("press 1", at(c0, "name")...), []string{"connectors[0].name:"}},
		{"typo in a field", edit("x", at(c0, "endpiont")...), []string{"connectors[0].endpiont: is not a field here"}},
		{"typo in a counter", edit(3, at(c0, "counters", 0, "adress")...), []string{"connectors[0].counters[0].adress: is not a field here"}},
		{"wrong type", edit("one", at(c0, "counters", 0, "bits")...), []string{"connectors[0].counters[0].bits: must be a uint, not a string"}},
		{"bad duration", edit("often", at(c0, "poll")...), []string{`connectors[0].poll: "often" is not a duration`}},
		{"poll slower than interval", edit("1s", at(c0, "poll")...), []string{"connectors[0].poll: must not exceed the interval"}},
		{"no endpoint", edit(nil, at(c0, "endpoint")...), []string{"connectors[0].endpoint: is required"}},
		{"no counters", edit([]any{}, at(c0, "counters")...), []string{"connectors[0].counters: at least one counter is required"}},
		{"no unit anywhere", edit(nil, at(c0, "unit")...), []string{"connectors[0].counters[0].unit: is required"}},
		{"bad tenant", edit("Vita Food", at(c0, "tenant")...), []string{"connectors[0].counters[0].tenant:", "connectors[0].counters[1].tenant:"}},
		{"bad factor", edit("1/2", at(c0, "counters", 1, "factor")...), []string{"connectors[0].counters[1].factor:"}},
		{"register", edit("coil", at(c0, "counters", 0, "register")...), []string{`connectors[0].counters[0].register: "coil" must be holding or input`}},
		{"address", edit(70000, at(c0, "counters", 0, "address")...), []string{"connectors[0].counters[0].address: 70000 must be 0-65535"}},
		{"no address", edit(nil, at(c0, "counters", 0, "address")...), []string{"connectors[0].counters[0].address: is required"}},
		{"bits", edit(24, at(c0, "counters", 0, "bits")...), []string{"connectors[0].counters[0].bits:"}},
		{"word order", edit("middle", at(c0, "counters", 0, "word_order")...), []string{"connectors[0].counters[0].word_order:"}},
		{"duplicate counter", edit("good", at(c0, "counters", 1, "name")...), []string{`connectors[0].counters[1].name: "good" names another counter`}},
		{"opc endpoint", edit("tcp://x", at(c1, "endpoint")...), []string{"connectors[1].endpoint:"}},
		{"opc policy", edit("Basic128Rsa15", at(c1, "security", "policy")...), []string{`connectors[1].security.policy: "Basic128Rsa15"`}},
		{"opc mode", edit("Encrypt", at(c1, "security", "mode")...), []string{"connectors[1].security.mode:"}},
		{"missing certificate file", edit("pki/none.pem", at(c1, "security", "certificate")...), []string{"connectors[1].security.certificate: open"}},
		{"key is no key", edit("pki/client.pem", at(c1, "security", "private_key")...), []string{"connectors[1].security.private_key:"}},
		{"password twice", edit("x", at(c1, "password")...), []string{"connectors[1].password_env: give password or password_env, not both"}},
		{"unset password variable", edit("NOPE", at(c1, "password_env")...), []string{"connectors[1].password_env: $NOPE is empty or not set"}},
		{"no node", edit(nil, at(c1, "counters", 0, "node")...), []string{"connectors[1].counters[0].node: is required"}},
		{"bad node", edit("ns=x", at(c1, "counters", 0, "node")...), []string{"connectors[1].counters[0].node:"}},
		{"two mistakes, two errors", edit(nil, at(c1, "line")...), []string{"connectors[1].counters[0].line: is required"}},
	}
	getenv := func(k string) string {
		if k == "FILLER_PASSWORD" {
			return "secret"
		}
		return ""
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.doc, Options{Dir: dir, Getenv: getenv})
			if err == nil {
				t.Fatalf("accepted:\n%s", tt.doc)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

type fake struct{ name string }

func (f fake) Name() string                            { return f.name }
func (fake) Run(context.Context, connector.Sink) error { return nil }
func (fake) Health() []connector.Health                { return nil }

func TestMoreKinds(t *testing.T) {
	kinds := map[string]Builder{"sparkplug": func(path string, entry json.RawMessage, _ Options) (connector.Connector, error) {
		var e struct {
			Name, Broker string
		}
		json.Unmarshal(entry, &e)
		if e.Broker == "" {
			return nil, fmt.Errorf("%s.broker: is required", path)
		}
		return fake{e.Name}, nil
	}}
	cs, err := Parse([]byte(`{"connectors":[{"name":"spb","kind":"sparkplug","broker":"tcp://127.0.0.1:1883"}]}`), Options{Kinds: kinds})
	if err != nil || len(cs) != 1 || cs[0].Name() != "spb" {
		t.Fatalf("%v %v", cs, err)
	}
	if _, err := Parse([]byte(`{"connectors":[{"name":"spb","kind":"sparkplug"}]}`), Options{Kinds: kinds}); err == nil || !strings.Contains(err.Error(), "connectors[0].broker") {
		t.Errorf("builder error: %v", err)
	}
}

// TestBuiltConnectorRuns runs a Modbus connector built from the file
// against the independent server of package modbus's tests.
func TestBuiltConnectorRuns(t *testing.T) {
	port := connectortest.FreePort(t)
	srv := connectortest.StartServer(t, filepath.Join("..", "modbus", "testdata", "server"), "server.js", fmt.Sprint(port))
	srv.Do(t, "set 1000")
	doc := fmt.Appendf(nil, valid, port)
	var d struct{ Connectors []json.RawMessage }
	json.Unmarshal(doc, &d)
	cs, err := Parse(fmt.Appendf(nil, `{"connectors":[%s]}`, d.Connectors[0]), Options{})
	if err != nil {
		t.Fatal(err)
	}
	sink := connectortest.Run(t, cs[0])
	connectortest.WaitFor(t, "first reads", func() bool { h := cs[0].Health(); return len(h) == 1 && h[0].Messages >= 4 })
	srv.Do(t, "add 6")
	connectortest.WaitFor(t, "6 pieces", func() bool { q, _ := sink.Totals("press-1.good:"); return q.Cmp(big.NewRat(6, 1)) == 0 })
	// The second counter reads the same value, byte-swapped, at 0.5 kg a count.
	connectortest.WaitFor(t, "3 kg", func() bool { q, _ := sink.Totals("press-1.good-ir:"); return q.Cmp(big.NewRat(3, 1)) == 0 })
}

// FuzzParse checks that any document yields connectors or an error, never
// a panic, and that every error names where it is.
func FuzzParse(f *testing.F) {
	f.Add(fmt.Appendf(nil, valid, 502))
	f.Add([]byte(`{"connectors":[{"name":"a","kind":"modbus","counters":[{}]}]}`))
	f.Add([]byte(`{"connectors":[{"name":"b","kind":"opcua","endpoint":"opc.tcp://x","interval":"1m","counters":[{"name":"c","node":"i=1"}]}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		cs, err := Parse(doc, Options{Dir: t.TempDir(), Getenv: func(string) string { return "" }})
		if err == nil {
			for _, c := range cs {
				if c == nil || c.Name() == "" {
					t.Fatal("a connector without a name")
				}
			}
			return
		}
		if err.Error() == "" {
			t.Fatal("an empty error")
		}
	})
}
