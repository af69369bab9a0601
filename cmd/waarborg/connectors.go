package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/connector"
	"github.com/waarborg/waarborg/connector/config"
	"github.com/waarborg/waarborg/connector/sparkplug"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/mqttbroker"
)

// loadConnectors reads a connectors file (connector/config, docs/connectors.md):
// the kinds it knows, modbus and opcua, and sparkplug, built here. embedded
// is the address of the embedded MQTT broker ("" when there is none): a
// Sparkplug broker of "embedded" is that one.
func loadConnectors(path, embedded string, getenv func(string) string, logger *slog.Logger) ([]connector.Connector, error) {
	sparkplugKind := func(entryPath string, raw json.RawMessage, opts config.Options) (connector.Connector, error) {
		cfg, err := sparkplug.LoadConfig(raw, opts.Dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", entryPath, err)
		}
		if cfg.Broker == "embedded" {
			if embedded == "" {
				return nil, fmt.Errorf("%s.broker: \"embedded\" needs serve --mqtt-listen", entryPath)
			}
			cfg.Broker = "tcp://" + embedded
		}
		cfg.Logger = logger
		c, err := sparkplug.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", entryPath, err)
		}
		return c, nil
	}
	conns, err := config.Load(path, config.Options{Getenv: getenv, Logger: logger,
		Kinds: map[string]config.Builder{"sparkplug": sparkplugKind}})
	if err != nil {
		return nil, fmt.Errorf("connectors %w", err)
	}
	return conns, nil
}

// runConnectors runs each connector until ctx ends, starting it again
// with backoff when it fails, and returns when all have stopped.
func runConnectors(ctx context.Context, conns []connector.Connector, sink connector.Sink, logger *slog.Logger) {
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			backoff := time.Second
			for ctx.Err() == nil {
				began := time.Now()
				err := c.Run(ctx, sink)
				if ctx.Err() != nil {
					return
				}
				if time.Since(began) > time.Minute {
					backoff = time.Second
				}
				logger.Error("connector failed; starting it again", "connector", c.Name(), "err", err, "in", backoff)
				select {
				case <-time.After(backoff):
				case <-ctx.Done():
				}
				backoff = min(2*backoff, time.Minute)
			}
		})
	}
	wg.Wait()
}

// ledgerSink appends connectors' records to the ledger. A record whose id
// the tenant holds with other content is refused by the ledger; no retry
// changes that, so it is logged rather than returned.
func ledgerSink(l *ledger.Ledger, logger *slog.Logger) connector.Sink {
	return connector.SinkFunc(func(ctx context.Context, recs []*waarborg.Record) error {
		res, err := l.Append(ctx, recs)
		if err != nil {
			return err
		}
		for i, r := range res {
			if r.Outcome == ledger.Conflict {
				logger.Error("a connector's record conflicts with the ledger; the first version stays",
					"tenant", recs[i].Tenant, "id", recs[i].ID, "source", recs[i].Source)
			}
		}
		return nil
	})
}

// mqttFlags are serve's flags of the embedded MQTT broker.
type mqttFlags struct {
	listen, users, cert, key *string
}

func (f *mqttFlags) start(logger *slog.Logger) (mqttbroker.Broker, error) {
	if *f.listen == "" {
		if *f.users != "" || *f.cert != "" || *f.key != "" {
			return nil, errors.New("--mqtt-users, --mqtt-tls-cert and --mqtt-tls-key need --mqtt-listen")
		}
		return nil, nil
	}
	cfg := mqttbroker.Config{Listen: *f.listen, Logger: logger}
	if *f.users != "" {
		users, err := mqttbroker.ReadUsers(*f.users)
		if err != nil {
			return nil, fmt.Errorf("--mqtt-users: %w", err)
		}
		cfg.Users = users
	}
	if (*f.cert == "") != (*f.key == "") {
		return nil, errors.New("--mqtt-tls-cert and --mqtt-tls-key go together")
	}
	if *f.cert != "" {
		cert, err := tls.LoadX509KeyPair(*f.cert, *f.key)
		if err != nil {
			return nil, fmt.Errorf("mqtt TLS: %w", err)
		}
		cfg.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	if len(cfg.Users) == 0 && !isLoopback(*f.listen) {
		logger.Warn("the embedded MQTT broker takes anyone: give --mqtt-users", "listen", *f.listen)
	}
	b, err := mqttbroker.Start(cfg)
	if err != nil {
		return nil, err
	}
	logger.Info("embedded MQTT broker listening", "addr", b.Addr().String(), "tls", cfg.TLS != nil)
	return b, nil
}

func isLoopback(addr string) bool {
	host := addr
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		host = addr[:i]
	}
	host = strings.Trim(host, "[]")
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "::1"
}
