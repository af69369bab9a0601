// Package mqttbroker runs an MQTT broker inside waarborg, for sites that
// have none: edge nodes publish Sparkplug B to it and the sparkplug
// connector subscribes to it like to any broker. Broker is the small
// interface the rest of waarborg sees, so that the implementation
// (mochi-mqtt/server today) can be replaced. cmd/waarborg imports it.
package mqttbroker

import (
	"bytes"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// A Broker is a running MQTT broker.
type Broker interface {
	// Addr is the address it listens on (the port chosen, for port 0).
	Addr() net.Addr
	// Close disconnects every client and stops listening.
	Close() error
}

// Config configures a broker.
type Config struct {
	Listen string      // host:port; port 0 picks a free one
	TLS    *tls.Config // nil: plain TCP
	// Users maps user names to passwords. Empty: anyone may connect, which
	// is only sensible on loopback or a closed plant network.
	Users  map[string]string
	Logger *slog.Logger
}

// Start starts a broker (mochi-mqtt/server) that serves until closed.
func Start(cfg Config) (Broker, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("mqtt broker: %w", err)
	}
	addr := ln.Addr()
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, cfg.TLS)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := mqtt.New(&mqtt.Options{Logger: logger.With("component", "mqtt-broker"), InlineClient: false})
	if err := s.AddHook(&authHook{users: cfg.Users}, nil); err != nil {
		ln.Close()
		return nil, fmt.Errorf("mqtt broker: %w", err)
	}
	if err := s.AddListener(listeners.NewNet("waarborg", ln)); err != nil {
		ln.Close()
		return nil, fmt.Errorf("mqtt broker: %w", err)
	}
	if err := s.Serve(); err != nil {
		s.Close()
		return nil, fmt.Errorf("mqtt broker: %w", err)
	}
	return &mochi{server: s, addr: addr}, nil
}

type mochi struct {
	server *mqtt.Server
	addr   net.Addr
}

func (m *mochi) Addr() net.Addr { return m.addr }
func (m *mochi) Close() error   { return m.server.Close() }

// authHook checks user names and passwords; every authenticated client may
// publish and subscribe to every topic.
type authHook struct {
	mqtt.HookBase
	users map[string]string
}

func (h *authHook) ID() string { return "waarborg-auth" }

func (h *authHook) Provides(b byte) bool {
	return b == mqtt.OnConnectAuthenticate || b == mqtt.OnACLCheck
}

func (h *authHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	if len(h.users) == 0 {
		return true
	}
	want, ok := h.users[string(cl.Properties.Username)]
	// Compared in constant time; an unknown user costs the same.
	eq := subtle.ConstantTimeCompare([]byte(want), pk.Connect.Password) == 1
	return ok && eq
}

func (h *authHook) OnACLCheck(*mqtt.Client, string, bool) bool { return true }

// ReadUsers reads a users file: one "user:password" a line; blank lines
// and lines starting with # are skipped. Keep the file readable by the
// service only.
func ReadUsers(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	users := map[string]string{}
	for i, line := range bytes.Split(b, []byte{'\n'}) {
		s := strings.TrimRight(string(line), "\r")
		if strings.TrimSpace(s) == "" || strings.HasPrefix(s, "#") {
			continue
		}
		user, pw, ok := strings.Cut(s, ":")
		if !ok || user == "" {
			return nil, fmt.Errorf("%s:%d: want user:password", path, i+1)
		}
		users[user] = pw
	}
	if len(users) == 0 {
		return nil, errors.New(path + ": no users")
	}
	return users, nil
}
