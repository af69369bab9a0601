// Package sparkplug is an MQTT Sparkplug B host application (Sparkplug 3.0
// over MQTT 3.1.1): it subscribes to spBv1.0/# on a broker, follows each
// edge node's births, deaths, aliases and seq and bdSeq numbers, turns the
// metrics a Mapping names into evidence records, and writes a source.gap
// record wherever it knows data were lost (a seq jump, a bdSeq mismatch, a
// death certificate, a counter reset). It publishes its own STATE as a
// 3.0 host application does.
//
// Payloads are decoded by hand with protowire from the specification's field
// numbers (payload.go). Host holds the protocol state and does no I/O;
// Connector adds the MQTT client. cmd/waarborg imports it.
package sparkplug

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/connector"
)

// Config configures a Connector. The JSON form is what a connectors file
// holds (see LoadConfig).
type Config struct {
	Name string `json:"name"`
	// Broker is the MQTT server: tcp://host:1883, or ssl://host:8883
	// (also tls://, mqtts://) for TLS.
	Broker   string `json:"broker"`
	ClientID string `json:"client_id"` // default: waarborg-HOSTID
	// HostID is the Sparkplug host application id: the STATE topic is
	// spBv1.0/STATE/HOSTID (default "waarborg").
	HostID       string `json:"host_id"`
	Username     string `json:"username"`
	Password     string `json:"password"`
	PasswordFile string `json:"password_file"` // read by LoadConfig
	// CAFile verifies the broker's certificate (default: the system's);
	// CertFile and KeyFile are a client certificate, if the broker wants
	// one; ServerName overrides the name checked in the certificate.
	CAFile     string `json:"ca_file"`
	CertFile   string `json:"cert_file"`
	KeyFile    string `json:"key_file"`
	ServerName string `json:"server_name"`
	// RequestRebirth makes the host ask an edge node for a rebirth (NCMD
	// "Node Control/Rebirth") when it lost track of the node's session or
	// aliases, as the specification allows a host application to.
	RequestRebirth bool `json:"request_rebirth"`
	// MappingFile holds the Mapping, read by LoadConfig; Mapping may be
	// given inline instead.
	MappingFile string   `json:"mapping_file"`
	Mapping     *Mapping `json:"mapping"`

	Now    func() time.Time `json:"-"` // default time.Now
	Logger *slog.Logger     `json:"-"`
	// FlushEvery is how often counters are checked for intervals that
	// ended (default 1s); Grace how long after its end an interval waits
	// for late messages (default 5s).
	FlushEvery time.Duration `json:"-"`
	Grace      time.Duration `json:"-"`
}

// LoadConfig reads a connector's JSON configuration; relative file names
// in it are relative to dir (the directory of the connectors file).
func LoadConfig(raw []byte, dir string) (Config, error) {
	var c Config
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("sparkplug configuration: %w", err)
	}
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.PasswordFile)
	abs(&c.CAFile)
	abs(&c.CertFile)
	abs(&c.KeyFile)
	abs(&c.MappingFile)
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return c, fmt.Errorf("sparkplug password: %w", err)
		}
		c.Password = strings.TrimRight(string(b), "\r\n")
	}
	if c.MappingFile != "" {
		if c.Mapping != nil {
			return c, errors.New("sparkplug configuration: give mapping or mapping_file, not both")
		}
		b, err := os.ReadFile(c.MappingFile)
		if err != nil {
			return c, fmt.Errorf("sparkplug mapping: %w", err)
		}
		if c.Mapping, err = ParseMapping(b); err != nil {
			return c, fmt.Errorf("%s: %w", c.MappingFile, err)
		}
	}
	return c, nil
}

// A Connector is a Sparkplug B host application.
type Connector struct {
	cfg   Config
	host  *Host
	tls   *tls.Config
	log   *slog.Logger
	state string // the STATE topic

	mu      sync.Mutex
	client  mqtt.Client // of the current session, nil between sessions
	stateTS int64       // the timestamp of the current session's STATE
	asked   map[nodeKey]time.Time
}

var _ connector.Connector = (*Connector)(nil)

// New checks cfg and returns a connector; it connects when run.
func New(cfg Config) (*Connector, error) {
	if cfg.Broker == "" {
		return nil, errors.New("sparkplug: broker is required")
	}
	if cfg.Mapping == nil {
		return nil, errors.New("sparkplug: a mapping (mapping or mapping_file) is required")
	}
	if err := cfg.Mapping.check(); err != nil {
		return nil, fmt.Errorf("sparkplug mapping: %w", err)
	}
	if cfg.HostID == "" {
		cfg.HostID = "waarborg"
	}
	if strings.ContainsAny(cfg.HostID, "/+#") {
		return nil, fmt.Errorf("sparkplug: host_id %q must not hold /, + or #", cfg.HostID)
	}
	if cfg.ClientID == "" {
		cfg.ClientID = "waarborg-" + cfg.HostID
	}
	if cfg.Name == "" {
		cfg.Name = "sparkplug"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = time.Second
	}
	c := &Connector{
		cfg:   cfg,
		host:  NewHost(cfg.Mapping),
		log:   cfg.Logger.With("connector", cfg.Name),
		state: Namespace + "/STATE/" + cfg.HostID,
		asked: map[nodeKey]time.Time{},
	}
	if cfg.Grace > 0 {
		c.host.Grace = cfg.Grace
	}
	scheme, _, _ := strings.Cut(cfg.Broker, "://")
	switch scheme {
	case "ssl", "tls", "mqtts", "tcps":
		t, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		c.tls = t
	case "tcp", "mqtt":
	default:
		return nil, fmt.Errorf("sparkplug: broker %q: use tcp://HOST:PORT or ssl://HOST:PORT", cfg.Broker)
	}
	return c, nil
}

func tlsConfig(cfg Config) (*tls.Config, error) {
	t := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: cfg.ServerName}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("sparkplug CA: %w", err)
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("sparkplug CA %s: no PEM certificate", cfg.CAFile)
		}
	}
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("sparkplug client certificate: %w", err)
		}
		t.Certificates = []tls.Certificate{cert}
	}
	return t, nil
}

// Name returns the configured name.
func (c *Connector) Name() string { return c.cfg.Name }

// Health reports per source the messages, records and gaps seen.
func (c *Connector) Health() []connector.Health { return c.host.Health() }

// Host returns the protocol state (for tests and diagnostics).
func (c *Connector) Host() *Host { return c.host }

type inbound struct {
	msg      mqtt.Message
	received time.Time
}

// Run connects, subscribes and hands records to sink until ctx ends,
// reconnecting with backoff after a lost connection. A message is
// acknowledged to the broker only after sink took its records; while sink
// fails, Run retries it and reads no further messages. It returns nil when
// ctx ends.
func (c *Connector) Run(ctx context.Context, sink connector.Sink) error {
	msgs := make(chan inbound, 1024)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { c.process(ctx, msgs, stop, sink) })

	backoff := time.Second
	for ctx.Err() == nil {
		began := c.cfg.Now()
		err := c.session(ctx, msgs)
		if ctx.Err() != nil {
			break
		}
		if c.cfg.Now().Sub(began) > time.Minute {
			backoff = time.Second
		}
		c.log.Warn("sparkplug session ended; reconnecting", "broker", c.cfg.Broker, "err", err, "in", backoff)
		if !sleep(ctx, backoff) {
			break
		}
		backoff = min(2*backoff, 30*time.Second)
	}
	close(stop)
	wg.Wait()
	return nil
}

// sleep waits d with some jitter, or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	d += rand.N(d/4 + 1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *Connector) stateJSON(online bool, ts int64) string {
	return fmt.Sprintf(`{"online":%t,"timestamp":%d}`, online, ts)
}

// session runs one MQTT connection. Sparkplug 3.0 host applications
// connect with a clean session and a retained STATE will (online false),
// subscribe, then publish a retained STATE birth with the same timestamp.
func (c *Connector) session(ctx context.Context, msgs chan<- inbound) error {
	ts := c.cfg.Now().UnixMilli()
	lost := make(chan error, 1)
	done := make(chan struct{})
	defer close(done)
	opts := mqtt.NewClientOptions().
		AddBroker(c.cfg.Broker).
		SetClientID(c.cfg.ClientID).
		SetUsername(c.cfg.Username).
		SetPassword(c.cfg.Password).
		SetCleanSession(true).
		SetProtocolVersion(4). // MQTT 3.1.1
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetKeepAlive(30*time.Second).
		SetConnectTimeout(30*time.Second).
		SetWriteTimeout(30*time.Second).
		SetOrderMatters(true).
		SetAutoAckDisabled(true).
		SetWill(c.state, c.stateJSON(false, ts), 1, true).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			select {
			case lost <- err:
			default:
			}
		})
	if c.tls != nil {
		opts.SetTLSConfig(c.tls)
	}
	client := mqtt.NewClient(opts)
	if err := wait(ctx, client.Connect()); err != nil {
		return fmt.Errorf("connect to %s: %w", c.cfg.Broker, err)
	}
	c.mu.Lock()
	c.client, c.stateTS = client, ts
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.client = nil
		c.mu.Unlock()
	}()

	handler := func(_ mqtt.Client, m mqtt.Message) {
		select {
		case msgs <- inbound{msg: m, received: c.cfg.Now()}:
		case <-done:
		}
	}
	if err := wait(ctx, client.Subscribe(Namespace+"/#", 1, handler)); err != nil {
		client.Disconnect(250)
		return fmt.Errorf("subscribe: %w", err)
	}
	if err := wait(ctx, client.Publish(c.state, 1, true, c.stateJSON(true, ts))); err != nil {
		client.Disconnect(250)
		return fmt.Errorf("publish STATE: %w", err)
	}
	c.log.Info("sparkplug host online", "broker", c.cfg.Broker, "state", c.state)

	select {
	case err := <-lost:
		return fmt.Errorf("connection lost: %w", err)
	case <-ctx.Done():
		// A clean stop says offline itself, with the birth's timestamp,
		// before it disconnects (the will is not sent then).
		t := client.Publish(c.state, 1, true, c.stateJSON(false, ts))
		if !t.WaitTimeout(5*time.Second) || t.Error() != nil {
			c.log.Warn("sparkplug: STATE offline not published; the broker sends the will", "err", t.Error())
		}
		client.Disconnect(1000)
		c.log.Info("sparkplug host offline", "broker", c.cfg.Broker)
		return nil
	}
}

// wait waits for a paho token, or until ctx ends.
func wait(ctx context.Context, t mqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxBatch bounds the messages whose records go to the sink in one Put
// (and so the size of a Put, which an edge queue must be able to take).
const maxBatch = 512

// A batch is messages read together and the records they gave.
type batch struct {
	ctx  context.Context // the Put's: the drain at a stop has its own
	msgs []inbound
	recs []*waarborg.Record
}

// process reads messages in arrival order, in batches, and turns them into
// records; a second goroutine puts each batch's records to the sink in one
// Put and then acknowledges its messages. Decoding the next batch while the
// sink stores this one keeps both busy; batches stay in order.
func (c *Connector) process(ctx context.Context, msgs <-chan inbound, stop <-chan struct{}, sink connector.Sink) {
	out := make(chan batch, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		failed := false
		for b := range out {
			// After a failed Put nothing later may be acknowledged: the
			// records of the failed batch would be lost silently.
			if failed || len(b.recs) > 0 && !c.put(b.ctx, sink, b.recs) {
				failed = true
				continue
			}
			for _, in := range b.msgs {
				in.msg.Ack()
			}
		}
	})
	defer wg.Wait()
	defer close(out)
	tick := time.NewTicker(c.cfg.FlushEvery)
	defer tick.Stop()
	for {
		b := batch{ctx: ctx}
		select {
		case m := <-msgs:
			b.msgs = append(make([]inbound, 0, 64), m)
		more:
			for len(b.msgs) < maxBatch {
				select {
				case m := <-msgs:
					b.msgs = append(b.msgs, m)
				default:
					break more
				}
			}
		case <-tick.C:
		case <-stop:
			// The session has ended: what it delivered is still kept,
			// within a few seconds, so that a clean stop loses nothing.
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			for len(msgs) > 0 {
				b := batch{ctx: dctx}
				for len(msgs) > 0 && len(b.msgs) < maxBatch {
					b.msgs = append(b.msgs, <-msgs)
				}
				for _, in := range b.msgs {
					b.recs = append(b.recs, c.handle(in)...)
				}
				out <- b
			}
			return
		}
		for _, in := range b.msgs {
			b.recs = append(b.recs, c.handle(in)...)
		}
		b.recs = append(b.recs, c.host.Flush(c.cfg.Now())...)
		if len(b.msgs) > 0 || len(b.recs) > 0 {
			select {
			case out <- b:
			case <-ctx.Done():
				if len(msgs) == 0 {
					return
				}
			}
		}
	}
}

// put hands records to the sink, retrying with backoff until it takes them
// or ctx ends.
func (c *Connector) put(ctx context.Context, sink connector.Sink, recs []*waarborg.Record) bool {
	backoff := 100 * time.Millisecond
	for {
		err := sink.Put(ctx, recs)
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		c.log.Warn("sparkplug: the sink refused records; retrying", "records", len(recs), "err", err, "in", backoff)
		if !sleep(ctx, backoff) {
			return false
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

func (c *Connector) handle(in inbound) []*waarborg.Record {
	t, ok := ParseTopic(in.msg.Topic())
	if !ok {
		return nil
	}
	if t.Type == "STATE" {
		c.handleState(t, in.msg.Payload())
		return nil
	}
	res, err := c.host.Handle(t, in.msg.Payload(), in.received)
	if err != nil {
		c.log.Warn("sparkplug: payload not decoded", "topic", in.msg.Topic(), "err", err)
		return nil
	}
	if res.Rebirth && c.cfg.RequestRebirth && (t.Type == "NDATA" || t.Type == "DDATA" || t.Type == "DBIRTH" || t.Type == "DDEATH") {
		c.requestRebirth(t)
	}
	return res.Records
}

// handleState answers a STATE offline on the host's own topic, which a
// stale will of an earlier session can leave, by publishing online again
// (Sparkplug 3.0, host application session establishment).
func (c *Connector) handleState(t Topic, payload []byte) {
	if t.Node != c.cfg.HostID {
		return
	}
	var s struct {
		Online    bool  `json:"online"`
		Timestamp int64 `json:"timestamp"`
	}
	if json.Unmarshal(payload, &s) != nil || s.Online {
		return
	}
	c.mu.Lock()
	client, ts := c.client, c.stateTS
	c.mu.Unlock()
	// Only an older session's will can be stale; an offline with this
	// session's timestamp is our own, at a stop.
	if client == nil || s.Timestamp >= ts {
		return
	}
	c.log.Info("sparkplug: STATE offline seen on our topic; publishing online again", "timestamp", s.Timestamp)
	client.Publish(c.state, 1, true, c.stateJSON(true, ts)) // not waited on: a handler must not block
}

// requestRebirth publishes an NCMD Node Control/Rebirth, at most once in
// 10 seconds per node.
func (c *Connector) requestRebirth(t Topic) {
	key := nodeKey{t.Group, t.Node}
	now := c.cfg.Now()
	c.mu.Lock()
	client := c.client
	if client == nil || now.Sub(c.asked[key]) < 10*time.Second {
		c.mu.Unlock()
		return
	}
	c.asked[key] = now
	c.mu.Unlock()
	p := &Payload{Timestamp: uint64(now.UnixMilli()), HasTimestamp: true, Metrics: []Metric{{
		Name: "Node Control/Rebirth", HasName: true, Datatype: TypeBoolean, Value: ValueBool, Bool: true,
		Timestamp: uint64(now.UnixMilli()), HasTimestamp: true,
	}}}
	topic := Namespace + "/" + t.Group + "/NCMD/" + t.Node
	c.log.Info("sparkplug: requesting a rebirth", "topic", topic)
	client.Publish(topic, 0, false, AppendPayload(nil, p))
}
