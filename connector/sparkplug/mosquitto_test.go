package sparkplug

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/servicetest"
)

// broker is a mosquitto started for one test, with a plain listener and a
// TLS listener, both on loopback and both wanting a password.
type broker struct {
	plain, tls     string // host:port
	caFile         string
	user, password string
}

// freePort returns a loopback port that was free a moment ago: mosquitto
// cannot be told to listen on port 0.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// writeCerts writes a test CA and a server certificate for 127.0.0.1
// signed by it.
func writeCerts(t *testing.T, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "waarborg test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(srvKey)
	ca, cert, key = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	for path, block := range map[string]*pem.Block{
		ca: {Type: "CERTIFICATE", Bytes: caDER}, cert: {Type: "CERTIFICATE", Bytes: srvDER}, key: {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return ca, cert, key
}

// startMosquitto runs Debian's mosquitto on two loopback ports until the
// test ends. The password file is made by mosquitto_passwd.
func startMosquitto(t *testing.T) *broker {
	t.Helper()
	bin := servicetest.Program(t, "mosquitto")
	passwd := servicetest.Program(t, "mosquitto_passwd")
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // mosquitto may drop to its own user
		t.Fatal(err)
	}
	ca, cert, key := writeCerts(t, dir)
	b := &broker{caFile: ca, user: "edge", password: "s3cret pass"}
	pwFile := filepath.Join(dir, "passwd")
	if out, err := exec.Command(passwd, "-c", "-b", pwFile, b.user, b.password).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v: %s", err, out)
	}
	os.Chmod(pwFile, 0o644)
	plain, tlsPort := freePort(t), freePort(t)
	b.plain, b.tls = fmt.Sprintf("127.0.0.1:%d", plain), fmt.Sprintf("127.0.0.1:%d", tlsPort)
	conf := filepath.Join(dir, "mosquitto.conf")
	config := fmt.Sprintf(`per_listener_settings false
allow_anonymous false
password_file %s
persistence false
log_dest stderr
log_type error
log_type warning
listener %d 127.0.0.1
listener %d 127.0.0.1
cafile %s
certfile %s
keyfile %s
`, pwFile, plain, tlsPort, ca, cert, key)
	if os.Getuid() == 0 {
		config = "user root\n" + config
	}
	if err := os.WriteFile(conf, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("mosquitto:\n%s", logs.String())
		}
	})
	for _, addr := range []string{b.plain, b.tls} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("mosquitto does not listen on %s: %s", addr, logs.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return b
}

// collector is a sink that keeps what it is given, after refusing the
// first fail puts.
type collector struct {
	mu   sync.Mutex
	fail int
	recs []*waarborg.Record
}

func (c *collector) Put(_ context.Context, recs []*waarborg.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail > 0 {
		c.fail--
		return errors.New("sink unavailable")
	}
	c.recs = append(c.recs, recs...)
	return nil
}

func (c *collector) snapshot() []*waarborg.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*waarborg.Record(nil), c.recs...)
}

// retained reads the retained message of a topic with mosquitto_sub.
func (b *broker) retained(t *testing.T, topic string) string {
	t.Helper()
	sub := servicetest.Program(t, "mosquitto_sub")
	host, port, _ := net.SplitHostPort(b.plain)
	out, err := exec.Command(sub, "-h", host, "-p", port, "-u", b.user, "-P", b.password,
		"-t", topic, "-C", "1", "-W", "5", "-V", "mqttv311").CombinedOutput()
	if err != nil {
		t.Fatalf("mosquitto_sub %s: %v: %s", topic, err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestTahuThroughMosquitto runs the host application against Debian's
// mosquitto over TLS with a password, while the Eclipse Tahu JavaScript
// client publishes as an edge node over the plain listener. It checks
// births and aliases, counts, the alarm, the seq gap, the deaths, a bdSeq
// jump and the host's STATE.
func TestTahuThroughMosquitto(t *testing.T) {
	node := servicetest.Program(t, "node")
	tahu, _ := filepath.Abs("testdata/tahu")
	if _, err := os.Stat(filepath.Join(tahu, "node_modules", "sparkplug-client")); err != nil {
		if servicetest.Required() {
			t.Fatalf("the Tahu client is not installed (scripts/services.sh runs npm ci in %s): %v", tahu, err)
		}
		t.Skipf("the Tahu client is not installed: run `npm ci` in %s, or `make test`", tahu)
	}
	b := startMosquitto(t)
	m, err := ParseMapping([]byte(testMapping))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(Config{
		Name: "plant-mqtt", Broker: "ssl://" + b.tls, CAFile: b.caFile,
		Username: b.user, Password: b.password, HostID: "waarborg-test",
		Mapping: m, FlushEvery: 50 * time.Millisecond, Grace: time.Second,
		Logger: slog.New(slog.NewTextHandler(t.Output(), nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	sink := &collector{fail: 2} // refused records are put again, not lost
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, sink) }()
	defer func() {
		cancel()
		<-done
	}()

	var state struct {
		Online    bool  `json:"online"`
		Timestamp int64 `json:"timestamp"`
	}
	waitFor(t, "the host's STATE online", func() bool {
		s := b.retained(t, "spBv1.0/STATE/waarborg-test")
		return json.Unmarshal([]byte(s), &state) == nil && state.Online
	})
	birthTS := state.Timestamp

	publish := func(phase string) {
		t.Helper()
		pub := exec.Command(node, "publish.js")
		pub.Dir = tahu
		pub.Env = append(os.Environ(), "PHASE="+phase, "BASE_MS="+strconv.FormatInt(base.UnixMilli(), 10),
			"BROKER_URL=mqtt://"+b.plain, "BROKER_USER="+b.user, "BROKER_PASSWORD="+b.password)
		if out, err := pub.CombinedOutput(); err != nil {
			t.Fatalf("tahu publisher, phase %s: %v: %s", phase, err, out)
		}
	}
	publish("1")

	byType := func(typ string) []*waarborg.Record {
		var out []*waarborg.Record
		for _, r := range sink.snapshot() {
			if r.Type == typ {
				out = append(out, r)
			}
		}
		return out
	}
	waitFor(t, "three counts and three gaps", func() bool {
		return len(byType("production.count")) == 3 && len(byType("source.gap")) == 3
	}, func() string { return canon(sink.snapshot()) })
	var counts []string
	for _, r := range byType("production.count") {
		start, _ := r.TimeField("start")
		counts = append(counts, fmt.Sprintf("%s+%s", start.Format("15:04"), quantity(r)))
	}
	if got, want := strings.Join(counts, " "), "06:00+25 06:01+35 06:02+40"; got != want {
		t.Errorf("counts = %s, want %s", got, want)
	}
	var gaps []string
	for _, g := range byType("source.gap") {
		gaps = append(gaps, g.Str("detail"))
	}
	for i, want := range []string{
		"sparkplug seq jump on edge node ede/ede-l1: expected 6, received 7",
		"sparkplug device death certificate (DDEATH) of ede/ede-l1/plc1",
		"sparkplug death certificate (NDEATH) of edge node ede/ede-l1",
	} {
		if i >= len(gaps) || !strings.HasPrefix(gaps[i], want) {
			t.Errorf("gap %d: want %q, got %q", i, want, gaps)
		}
	}
	if a := byType("alarm"); len(a) != 2 || a[0].Str("state") != "active" || a[1].Str("state") != "cleared" {
		t.Errorf("alarms = %s", canon(a))
	}
	// The DDATA metric came by alias only: it resolves through the DBIRTH.
	if s := byType("historian.sample"); len(s) != 2 || s[1].Str("tag") != "line-1/oven/temp" {
		t.Errorf("samples = %s", canon(s))
	}
	if h := c.Health(); len(h) != 1 || h[0].Gaps != 3 || h[0].Messages != 12 {
		t.Errorf("health = %+v", h)
	}

	// A later session whose bdSeq skips one: a session was missed. What
	// the counter says at the birth was made meanwhile, and counts.
	publish("2")
	waitFor(t, "a fourth count and five gaps", func() bool {
		return len(byType("production.count")) == 4 && len(byType("source.gap")) == 5
	}, func() string { return canon(sink.snapshot()) })
	gaps = gaps[:0]
	for _, g := range byType("source.gap")[3:] {
		gaps = append(gaps, g.Str("detail"))
	}
	for i, want := range []string{
		"sparkplug bdSeq jump: edge node ede/ede-l1 began session 2 after session 0",
		"sparkplug death certificate (NDEATH) of edge node ede/ede-l1 (bdSeq 2)",
	} {
		if i >= len(gaps) || !strings.HasPrefix(gaps[i], want) {
			t.Errorf("gap %d: want %q, got %q", i+3, want, gaps)
		}
	}
	if c := byType("production.count")[3]; quantity(c) != "60" {
		t.Errorf("count after the rebirth = %s", c.Canonical)
	}

	// A clean stop leaves STATE offline, with the birth's timestamp.
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil
	if s := b.retained(t, "spBv1.0/STATE/waarborg-test"); s != fmt.Sprintf(`{"online":false,"timestamp":%d}`, birthTS) {
		t.Errorf("STATE after stop = %s", s)
	}
}

func waitFor(t *testing.T, what string, cond func() bool, show ...func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			for _, f := range show {
				t.Log(f())
			}
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
