// Package modbus is the Modbus TCP connector: it polls counter registers of
// PLCs (16, 32 or 64 bits over one to four registers, byte and word order
// as the device lays them out) and turns their increases into
// production.count records per interval, with wraps, resets and failed
// polls handled by package counter.
//
// cmd/waarborg and the connector configuration use it.
package modbus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"time"

	mb "github.com/simonvetter/modbus"

	"github.com/waarborg/waarborg/connector"
	"github.com/waarborg/waarborg/connector/counter"
)

// Register kinds.
const (
	Holding = "holding" // function code 3
	Input   = "input"   // function code 4
)

// A Counter is one counter register.
type Counter struct {
	Name    string
	UnitID  uint8  // the Modbus unit (slave) id; 0 is often ignored by TCP devices
	Address uint16 // the first register, 0-based as on the wire
	Kind    string // Holding or Input
	Bits    uint   // 16, 32 or 64: one, two or four registers
	// LowWordFirst: the first register holds the least significant word
	// (many PLCs); otherwise the most significant (Modbus convention).
	LowWordFirst bool
	// ByteSwap: each register carries its low byte first.
	ByteSwap bool
	MaxStep  uint64 // see counter.Config
	Mapping  counter.Mapping
}

// Config describes one connection to a Modbus TCP server.
type Config struct {
	Name     string
	Endpoint string        // host:port
	Timeout  time.Duration // per request; 0 means 5 s
	Poll     time.Duration // how often the counters are read
	Interval time.Duration // the production count interval
	Counters []Counter
	Now      func() time.Time // nil: time.Now
	Logger   *slog.Logger     // nil: no log
}

// Connector polls one Modbus TCP server.
type Connector struct {
	cfg   Config
	feeds []*counter.Feed
}

var _ connector.Connector = (*Connector)(nil)

// New checks cfg and returns its connector.
func New(cfg Config) (*Connector, error) {
	if cfg.Endpoint == "" {
		return nil, errors.New("endpoint: is required")
	}
	if cfg.Poll <= 0 || cfg.Interval <= 0 {
		return nil, errors.New("poll and interval: must be > 0")
	}
	if cfg.Poll > cfg.Interval {
		return nil, fmt.Errorf("poll (%s): must not exceed the interval (%s), or counts land in the wrong interval", cfg.Poll, cfg.Interval)
	}
	if len(cfg.Counters) == 0 {
		return nil, errors.New("counters: at least one is required")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Connector{cfg: cfg}
	for i, k := range cfg.Counters {
		switch {
		case k.Bits != 16 && k.Bits != 32 && k.Bits != 64:
			return nil, fmt.Errorf("counters[%d].bits: must be 16, 32 or 64", i)
		case k.Kind != Holding && k.Kind != Input:
			return nil, fmt.Errorf("counters[%d].register: must be %s or %s", i, Holding, Input)
		case int(k.Address)+int(k.Bits/16) > 1<<16:
			return nil, fmt.Errorf("counters[%d].address: the registers run past 65535", i)
		}
		if err := k.Mapping.Check(); err != nil {
			return nil, fmt.Errorf("counters[%d]: %w", i, err)
		}
		c.feeds = append(c.feeds, counter.NewFeed(counter.Config{Bits: k.Bits, MaxStep: k.MaxStep, Interval: cfg.Interval}, k.Mapping))
	}
	return c, nil
}

// Name returns the configured name.
func (c *Connector) Name() string { return c.cfg.Name }

// Health reports per source.
func (c *Connector) Health() []connector.Health { return counter.Health(c.feeds) }

// Run polls until ctx ends. A failed poll is handed to the counters (a gap
// once reading resumes) and the connection is opened again on the next
// poll. Records the sink refuses stay pending and are offered again after
// each poll. When ctx ends, Run counts the interval in progress up to the
// last reading, offers what is pending to the sink a last time, and
// returns nil.
func (c *Connector) Run(ctx context.Context, sink connector.Sink) error {
	client, err := mb.NewClient(&mb.ClientConfiguration{
		URL:     "tcp://" + c.cfg.Endpoint,
		Timeout: c.cfg.Timeout,
		Logger:  log.New(io.Discard, "", 0),
	})
	if err != nil {
		return fmt.Errorf("modbus %s: %w", c.cfg.Endpoint, err)
	}
	open := false
	defer func() {
		if open {
			client.Close()
		}
	}()
	tick := time.NewTicker(c.cfg.Poll)
	defer tick.Stop()
	for {
		if !open {
			if err := client.Open(); err != nil {
				c.failAll(fmt.Errorf("connect to %s: %w", c.cfg.Endpoint, err))
			} else {
				open = true
			}
		}
		if open {
			if err := c.poll(client); err != nil {
				client.Close()
				open = false
			}
		}
		now := c.cfg.Now()
		for _, f := range c.feeds {
			f.Flush(now)
			if err := f.Deliver(ctx, sink); err != nil && ctx.Err() == nil {
				c.cfg.Logger.Warn("sink refused records; they stay pending", "connector", c.cfg.Name, "pending", f.Pending(), "err", err)
			}
		}
		select {
		case <-ctx.Done():
			c.shutdown(ctx, sink)
			return nil
		case <-tick.C:
		}
	}
}

// shutdown counts what was read up to now and hands it to the sink.
func (c *Connector) shutdown(ctx context.Context, sink connector.Sink) {
	if err := counter.Shutdown(ctx, c.feeds, c.cfg.Now(), sink); err != nil {
		c.cfg.Logger.Warn("stopping: the sink refused the last records", "connector", c.cfg.Name, "err", err)
	}
}

// poll reads every counter once. A failure of one read fails that counter;
// an error that looks like a broken connection is returned so that the
// connection is opened again.
func (c *Connector) poll(client *mb.ModbusClient) error {
	var connErr error
	for i, k := range c.cfg.Counters {
		if err := client.SetUnitId(k.UnitID); err != nil {
			return err
		}
		kind := mb.HOLDING_REGISTER
		if k.Kind == Input {
			kind = mb.INPUT_REGISTER
		}
		raw, err := client.ReadRawBytes(k.Address, uint16(k.Bits/8), kind) // a count of bytes
		now := c.cfg.Now()
		if err != nil {
			c.feeds[i].Fail(now, fmt.Errorf("read %s registers %d-%d of unit %d at %s: %w", k.Kind, k.Address, int(k.Address)+int(k.Bits/16)-1, k.UnitID, c.cfg.Endpoint, err))
			if !isProtocolError(err) {
				connErr = err
			}
			continue
		}
		c.feeds[i].Observe(now, Decode(raw, k.LowWordFirst, k.ByteSwap))
	}
	return connErr
}

// isProtocolError tells an exception the device answered (the connection
// is fine) from a transport failure.
func isProtocolError(err error) bool {
	for _, e := range []error{mb.ErrIllegalFunction, mb.ErrIllegalDataAddress, mb.ErrIllegalDataValue,
		mb.ErrServerDeviceFailure, mb.ErrServerDeviceBusy, mb.ErrGWTargetFailedToRespond, mb.ErrGWPathUnavailable} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (c *Connector) failAll(err error) {
	now := c.cfg.Now()
	for _, f := range c.feeds {
		f.Fail(now, err)
	}
}

// Decode reads a counter from the registers' bytes as they came off the
// wire (two bytes a register, high byte first per the protocol).
func Decode(raw []byte, lowWordFirst, byteSwap bool) uint64 {
	n := len(raw) / 2
	var v uint64
	for i := range n {
		w := i
		if lowWordFirst {
			w = n - 1 - i
		}
		hi, lo := raw[2*w], raw[2*w+1]
		if byteSwap {
			hi, lo = lo, hi
		}
		v = v<<16 | uint64(hi)<<8 | uint64(lo)
	}
	return v
}
