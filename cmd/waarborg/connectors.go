package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/waarborg/waarborg"
	"github.com/waarborg/waarborg/connector"
	"github.com/waarborg/waarborg/connector/sparkplug"
	"github.com/waarborg/waarborg/ledger"
	"github.com/waarborg/waarborg/mqttbroker"
)

// A connectors file lists the OT connectors a serve or edge process runs:
//
//	{"connectors": [
//	  {"kind": "sparkplug", "name": "plant-mqtt", "broker": "ssl://broker:8883",
//	   "ca_file": "ca.pem", "username": "waarborg", "password_file": "mqtt.pw",
//	   "mapping_file": "sparkplug-mapping.json"}
//	]}
//
// Each entry's kind picks the connector; its other fields are that kind's
// configuration. File names are relative to the connectors file. A broker
// of "embedded" is the broker that serve --mqtt-listen starts.
type connectorsFile struct {
	Connectors []json.RawMessage `json:"connectors"`
}

// loadConnectors reads a connectors file. embedded is the address of the
// embedded MQTT broker ("" when there is none).
func loadConnectors(path, embedded string, logger *slog.Logger) ([]connector.Connector, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("connectors: %w", err)
	}
	var f connectorsFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("connectors %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	var out []connector.Connector
	names := map[string]bool{}
	for i, raw := range f.Connectors {
		var head struct{ Kind, Name string }
		if err := json.Unmarshal(raw, &head); err != nil {
			return nil, fmt.Errorf("connectors %s: entry %d: %w", path, i+1, err)
		}
		var c connector.Connector
		switch head.Kind {
		case "sparkplug":
			cfg, err := sparkplug.LoadConfig(raw, dir)
			if err != nil {
				return nil, fmt.Errorf("connectors %s: entry %d: %w", path, i+1, err)
			}
			if cfg.Broker == "embedded" {
				if embedded == "" {
					return nil, fmt.Errorf("connectors %s: entry %d: broker \"embedded\" needs serve --mqtt-listen", path, i+1)
				}
				cfg.Broker = "tcp://" + embedded
			}
			if cfg.Name == "" {
				cfg.Name = fmt.Sprintf("sparkplug-%d", i+1)
			}
			cfg.Logger = logger
			if c, err = sparkplug.New(cfg); err != nil {
				return nil, fmt.Errorf("connectors %s: entry %d: %w", path, i+1, err)
			}
		default:
			return nil, fmt.Errorf("connectors %s: entry %d: unknown kind %q (known: sparkplug)", path, i+1, head.Kind)
		}
		if names[c.Name()] {
			return nil, fmt.Errorf("connectors %s: two connectors are named %q", path, c.Name())
		}
		names[c.Name()] = true
		out = append(out, c)
	}
	return out, nil
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
