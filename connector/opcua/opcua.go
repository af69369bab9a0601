// Package opcua is the OPC UA connector: it subscribes to counter nodes of
// an OPC UA server (security policy None or Basic256Sha256, anonymous or
// user/password) and turns their increases into production.count records
// per interval; wraps, resets and lost connections are handled by package
// counter. gopcua only logs gaps in a subscription's notification
// sequence: loss is detected here, from the counter values themselves and
// from the connection's state.
//
// cmd/waarborg and the connector configuration use it.
package opcua

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"

	"github.com/waarborg/waarborg/connector"
	"github.com/waarborg/waarborg/connector/counter"
)

// Security policies.
const (
	PolicyNone           = "None"
	PolicyBasic256Sha256 = "Basic256Sha256"
)

// A Counter is one monitored counter node.
type Counter struct {
	Name   string
	NodeID string // e.g. ns=2;s=Line1.GoodCount
	// Bits is where the counter wraps: 16, 32 or 64. 0 takes it from the
	// node's data type (64 for a signed or floating-point type).
	Bits    uint
	MaxStep uint64 // see counter.Config
	Mapping counter.Mapping
}

// Config describes one connection to an OPC UA server.
type Config struct {
	Name     string
	Endpoint string // opc.tcp://host:port/path
	Policy   string // PolicyNone (default) or PolicyBasic256Sha256
	// Mode is Sign or SignAndEncrypt (default) with Basic256Sha256.
	Mode string
	// The client's application instance certificate (DER) and key, required
	// with Basic256Sha256; the server must trust the certificate.
	Certificate []byte
	PrivateKey  *rsa.PrivateKey
	// ServerCertificate, when set (DER), must be the certificate the server
	// presents: pinning instead of trusting whatever the endpoint says.
	ServerCertificate  []byte
	Username, Password string // empty Username: anonymous

	Publish  time.Duration // the subscription's publishing interval; 0 means 1 s
	Interval time.Duration // the production count interval
	Retry    time.Duration // first wait before reconnecting; 0 means 1 s
	MaxRetry time.Duration // the wait doubles up to this; 0 means 1 min
	Counters []Counter
	Now      func() time.Time // nil: time.Now
	Logger   *slog.Logger     // nil: no log
}

// Connector follows the counters of one OPC UA server.
type Connector struct {
	cfg   Config
	nodes []*ua.NodeID

	mu    sync.Mutex
	feeds []*counter.Feed // nil until the counter's first value
}

func (c *Connector) feedsNow() []*counter.Feed {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.feeds)
}

func (c *Connector) setFeed(i int, f *counter.Feed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.feeds[i] = f
}

var _ connector.Connector = (*Connector)(nil)

// New checks cfg and returns its connector.
func New(cfg Config) (*Connector, error) {
	if !strings.HasPrefix(cfg.Endpoint, "opc.tcp://") {
		return nil, errors.New("endpoint: must be an opc.tcp:// URL")
	}
	switch cfg.Policy {
	case "":
		cfg.Policy = PolicyNone
	case PolicyNone, PolicyBasic256Sha256:
	default:
		return nil, fmt.Errorf("policy: must be %s or %s", PolicyNone, PolicyBasic256Sha256)
	}
	switch {
	case cfg.Policy == PolicyNone && cfg.Mode != "" && cfg.Mode != "None":
		return nil, errors.New("mode: must be None (or empty) with security policy None")
	case cfg.Policy == PolicyBasic256Sha256 && cfg.Mode == "":
		cfg.Mode = "SignAndEncrypt"
	case cfg.Policy == PolicyBasic256Sha256 && cfg.Mode != "Sign" && cfg.Mode != "SignAndEncrypt":
		return nil, errors.New("mode: must be Sign or SignAndEncrypt with Basic256Sha256")
	}
	if cfg.Policy == PolicyNone {
		cfg.Mode = "None"
	}
	if cfg.Policy != PolicyNone && (cfg.Certificate == nil || cfg.PrivateKey == nil) {
		return nil, fmt.Errorf("certificate: a client certificate and key are required with %s", cfg.Policy)
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("username: is required with a password")
	}
	if cfg.Interval <= 0 {
		return nil, errors.New("interval: must be > 0")
	}
	if cfg.Publish == 0 {
		cfg.Publish = time.Second
	}
	if cfg.Publish > cfg.Interval {
		return nil, fmt.Errorf("publish (%s): must not exceed the interval (%s)", cfg.Publish, cfg.Interval)
	}
	if cfg.Retry == 0 {
		cfg.Retry = time.Second
	}
	if cfg.MaxRetry == 0 {
		cfg.MaxRetry = max(time.Minute, cfg.Retry)
	}
	if cfg.MaxRetry < cfg.Retry {
		return nil, fmt.Errorf("max_retry (%s): must not be below retry (%s)", cfg.MaxRetry, cfg.Retry)
	}
	if len(cfg.Counters) == 0 {
		return nil, errors.New("counters: at least one is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Connector{cfg: cfg}
	for i, k := range cfg.Counters {
		id, err := ua.ParseNodeID(k.NodeID)
		if err != nil {
			return nil, fmt.Errorf("counters[%d].node: %w", i, err)
		}
		if k.Bits != 0 && k.Bits != 16 && k.Bits != 32 && k.Bits != 64 {
			return nil, fmt.Errorf("counters[%d].bits: must be 16, 32 or 64", i)
		}
		if err := k.Mapping.Check(); err != nil {
			return nil, fmt.Errorf("counters[%d]: %w", i, err)
		}
		c.nodes = append(c.nodes, id)
		// The width is known once the first value shows the data type.
		c.feeds = append(c.feeds, nil)
	}
	return c, nil
}

// Name returns the configured name.
func (c *Connector) Name() string { return c.cfg.Name }

// Health reports per source.
func (c *Connector) Health() []connector.Health {
	var feeds []*counter.Feed
	for i, f := range c.feedsNow() {
		if f == nil {
			f = counter.NewFeed(counter.Config{}, c.cfg.Counters[i].Mapping) // not read yet
		}
		feeds = append(feeds, f)
	}
	return counter.Health(feeds)
}

// Run follows the counters until ctx ends, connecting again after a lost
// connection (waiting Retry, doubling up to MaxRetry). While disconnected
// the counters are failed, which becomes a gap once values arrive again.
// Records the sink refuses stay pending and are offered again. When ctx
// ends, Run counts the interval in progress up to the last value, offers
// what is pending to the sink a last time, and returns nil.
func (c *Connector) Run(ctx context.Context, sink connector.Sink) error {
	wait := c.cfg.Retry
	for {
		began := c.cfg.Now()
		err := c.session(ctx, sink)
		if ctx.Err() != nil {
			c.shutdown(ctx, sink)
			return nil
		}
		c.cfg.Logger.Warn("opc ua connection lost", "connector", c.cfg.Name, "endpoint", c.cfg.Endpoint, "err", err)
		c.failAll(err)
		if c.cfg.Now().Sub(began) > c.cfg.MaxRetry {
			wait = c.cfg.Retry // it was up for a while: start backing off anew
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			c.shutdown(ctx, sink)
			return nil
		case <-t.C:
		}
		c.deliver(ctx, sink)
		wait = min(2*wait, c.cfg.MaxRetry)
	}
}

// session connects, subscribes and follows notifications until an error.
func (c *Connector) session(ctx context.Context, sink connector.Sink) error {
	states := make(chan opcua.ConnState, 8)
	client, err := c.connect(ctx, states)
	if err != nil {
		return err
	}
	// Closing asks the server to end the session: a dead server must not
	// hold Run up for long.
	closing := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	}
	defer func() {
		cctx, cancel := closing()
		defer cancel()
		client.Close(cctx)
	}()

	notes := make(chan *opcua.PublishNotificationData, 64)
	sub, err := client.Subscribe(ctx, &opcua.SubscriptionParameters{Interval: c.cfg.Publish}, notes)
	if err != nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	defer func() {
		cctx, cancel := closing()
		defer cancel()
		sub.Cancel(cctx)
	}()
	reqs := make([]*ua.MonitoredItemCreateRequest, len(c.nodes))
	for i, id := range c.nodes {
		reqs[i] = opcua.NewMonitoredItemCreateRequestWithDefaults(id, ua.AttributeIDValue, uint32(i))
	}
	res, err := sub.Monitor(ctx, ua.TimestampsToReturnBoth, reqs...)
	if err != nil {
		return fmt.Errorf("monitor: %w", err)
	}
	for i, r := range res.Results {
		if r.StatusCode != ua.StatusOK {
			// A node that is not there fails its counter alone.
			c.fail(i, fmt.Errorf("monitor %s: %w", c.cfg.Counters[i].NodeID, r.StatusCode))
		}
	}

	tick := time.NewTicker(min(c.cfg.Interval/4, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case s := <-states:
			if s == opcua.Disconnected || s == opcua.Closed {
				return fmt.Errorf("connection to %s: %s", c.cfg.Endpoint, s)
			}
		case n := <-notes:
			if n.Error != nil {
				return fmt.Errorf("subscription: %w", n.Error)
			}
			if dc, ok := n.Value.(*ua.DataChangeNotification); ok {
				for _, item := range dc.MonitoredItems {
					c.take(item)
				}
			}
		case <-tick.C:
			// Flush a little after each interval ends, so that values
			// published just before are in it.
			now := c.cfg.Now().Add(-c.cfg.Publish)
			for _, f := range c.feedsNow() {
				if f != nil {
					f.Flush(now)
				}
			}
			c.deliver(ctx, sink)
		}
	}
}

func (c *Connector) connect(ctx context.Context, states chan opcua.ConnState) (*opcua.Client, error) {
	endpoints, err := opcua.GetEndpoints(ctx, c.cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("get endpoints of %s: %w", c.cfg.Endpoint, err)
	}
	mode := ua.MessageSecurityModeFromString(c.cfg.Mode)
	ep, err := opcua.SelectEndpoint(endpoints, c.cfg.Policy, mode)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.cfg.Endpoint, err)
	}
	if c.cfg.ServerCertificate != nil && !bytes.Equal(ep.ServerCertificate, c.cfg.ServerCertificate) {
		return nil, fmt.Errorf("%s presents another certificate than the one configured", c.cfg.Endpoint)
	}
	// Servers often advertise a host name of their own; the configured
	// address is the one that reaches them.
	ep.EndpointURL = c.cfg.Endpoint
	opts := []opcua.Option{
		opcua.SecurityPolicy(c.cfg.Policy),
		opcua.SecurityMode(mode),
		opcua.AutoReconnect(false), // reconnecting is ours, so that an outage is seen
		opcua.StateChangedCh(states),
		opcua.ApplicationName("waarborg"),
		opcua.RequestTimeout(10 * time.Second),
	}
	if c.cfg.Certificate != nil {
		opts = append(opts, opcua.Certificate(c.cfg.Certificate), opcua.PrivateKey(c.cfg.PrivateKey))
	} else {
		opts = append(opts, opcua.ApplicationURI("urn:waarborg:client"))
	}
	if c.cfg.Username != "" {
		opts = append(opts, opcua.AuthUsername(c.cfg.Username, c.cfg.Password), opcua.SecurityFromEndpoint(ep, ua.UserTokenTypeUserName))
	} else {
		opts = append(opts, opcua.AuthAnonymous(), opcua.SecurityFromEndpoint(ep, ua.UserTokenTypeAnonymous))
	}
	client, err := opcua.NewClient(ep.EndpointURL, opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.cfg.Endpoint, err)
	}
	if err := client.Connect(ctx); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.cfg.Endpoint, err)
	}
	return client, nil
}

// take hands one notified value to its counter.
func (c *Connector) take(item *ua.MonitoredItemNotification) {
	i := int(item.ClientHandle)
	if i >= len(c.cfg.Counters) || item.Value == nil {
		return
	}
	k := c.cfg.Counters[i]
	now := c.cfg.Now()
	if item.Value.Status != ua.StatusOK && item.Value.Status&0xC0000000 != 0 {
		c.fail(i, fmt.Errorf("%s: status %w", k.NodeID, item.Value.Status))
		return
	}
	v, bits, err := Value(item.Value.Value)
	if err != nil {
		c.fail(i, fmt.Errorf("%s: %w", k.NodeID, err))
		return
	}
	c.feed(i, bits).Observe(now, v)
}

// Value reads a counter from a variant: an unsigned or signed integer (a
// signed one as its two's-complement bit pattern, so that it wraps as the
// PLC's register does) or a whole non-negative float. bits is the width
// the data type wraps at.
func Value(v *ua.Variant) (value uint64, bits uint, err error) {
	if v == nil {
		return 0, 0, errors.New("no value")
	}
	switch x := v.Value().(type) {
	case uint16:
		return uint64(x), 16, nil
	case uint32:
		return uint64(x), 32, nil
	case uint64:
		return x, 64, nil
	case int16:
		return uint64(uint16(x)), 16, nil
	case int32:
		return uint64(uint32(x)), 32, nil
	case int64:
		return uint64(x), 64, nil
	case uint8:
		return uint64(x), 8, nil
	case float32:
		return floatValue(float64(x))
	case float64:
		return floatValue(x)
	}
	return 0, 0, fmt.Errorf("a %T is not a counter", v.Value())
}

func floatValue(f float64) (uint64, uint, error) {
	if f < 0 || f != math.Trunc(f) || f >= 1<<63 {
		return 0, 0, fmt.Errorf("%v is not a whole number ≥ 0", f)
	}
	return uint64(f), 64, nil
}

// feed returns counter i's feed, made on its first value with the width
// configured or, failing that, the width of its data type.
func (c *Connector) feed(i int, bits uint) *counter.Feed {
	if f := c.feedsNow()[i]; f != nil {
		return f
	}
	k := c.cfg.Counters[i]
	if k.Bits != 0 {
		bits = k.Bits
	}
	f := counter.NewFeed(counter.Config{Bits: bits, MaxStep: k.MaxStep, Interval: c.cfg.Interval}, k.Mapping)
	c.setFeed(i, f)
	return f
}

func (c *Connector) fail(i int, err error) {
	if f := c.feedsNow()[i]; f != nil {
		f.Fail(c.cfg.Now(), err)
	}
}

func (c *Connector) failAll(err error) {
	for i := range c.cfg.Counters {
		c.fail(i, err)
	}
}

// shutdown counts what was read up to now and hands it to the sink.
func (c *Connector) shutdown(ctx context.Context, sink connector.Sink) {
	if err := counter.Shutdown(ctx, c.feedsNow(), c.cfg.Now(), sink); err != nil {
		c.cfg.Logger.Warn("stopping: the sink refused the last records", "connector", c.cfg.Name, "err", err)
	}
}

func (c *Connector) deliver(ctx context.Context, sink connector.Sink) {
	for _, f := range c.feedsNow() {
		if f == nil {
			continue
		}
		if err := f.Deliver(ctx, sink); err != nil && ctx.Err() == nil {
			c.cfg.Logger.Warn("sink refused records; they stay pending", "connector", c.cfg.Name, "pending", f.Pending(), "err", err)
		}
	}
}
