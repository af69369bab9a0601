package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/waarborg/waarborg/connector"
	"github.com/waarborg/waarborg/monitor"
	"github.com/waarborg/waarborg/web"
)

// shutdownGrace bounds how long in-flight requests may finish after a stop
// signal. A POST waiting on the ledger finishes within one group commit.
const shutdownGrace = 30 * time.Second

func cmdServe(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	dir := dataFlags(fs, e)
	defAddr := e.getenv("WAARBORG_ADDR")
	if defAddr == "" {
		defAddr = "127.0.0.1:8080"
	}
	addr := fs.String("addr", defAddr, "listen `address` (env WAARBORG_ADDR); port 0 picks a free one")
	maxBody := fs.Int64("max-body", web.DefaultMaxBody, "largest request body in `bytes`; a larger batch is refused whole")
	monitorFrom := fs.String("monitor-from", "", "start `date` (YYYY-MM-DD, UTC) of the period whose exceptions are monitored (default: January 1 of this year)")
	tlsCert := fs.String("tls-cert", "", "serve HTTPS with this certificate `file` (PEM; with --tls-key)")
	tlsKey := fs.String("tls-key", "", "the TLS private key `file` (PEM)")
	secureCookies := fs.Bool("secure-cookies", false, "mark session cookies Secure on plain HTTP too: behind a proxy that terminates TLS")
	of := declareOutwardFlags(fs)
	connectorsPath := fs.String("connectors", "", "run the OT connectors listed in this JSON `file`, appending their records to the ledger")
	mq := &mqttFlags{
		listen: fs.String("mqtt-listen", "", "start an embedded MQTT broker on this `address` (host:port), for sites without one"),
		users:  fs.String("mqtt-users", "", "`file` of user:password lines the embedded broker accepts (default: anyone)"),
		cert:   fs.String("mqtt-tls-cert", "", "TLS certificate `file` of the embedded broker"),
		key:    fs.String("mqtt-tls-key", "", "TLS key `file` of the embedded broker"),
	}
	fs.Usage = func() {
		fmt.Fprintln(e.stderr, "usage: waarborg serve [--data DIR] [--db URL] [--addr HOST:PORT] [--monitor-from YYYY-MM-DD] [--tls-cert FILE --tls-key FILE]\n"+
			"                      [--witness 'URL KEY [TENANT...]' ...] [--export-dir DIR] [--export-url URL] [--connectors FILE] [--mqtt-listen HOST:PORT]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || (*tlsCert == "") != (*tlsKey == "") {
		return errUsage
	}
	from := monitor.DefaultFrom(time.Now())
	if *monitorFrom != "" {
		t, err := time.Parse(time.DateOnly, *monitorFrom)
		if err != nil {
			fmt.Fprintf(e.stderr, "serve: --monitor-from must be YYYY-MM-DD, got %q\n", *monitorFrom)
			return errUsage
		}
		from = t
	}
	out, err := of.parse()
	if err != nil {
		fmt.Fprintf(e.stderr, "serve: %v\n", err)
		return errUsage
	}
	logger := slog.New(slog.NewJSONHandler(e.stderr, nil))

	broker, err := mq.start(logger)
	if err != nil {
		return err
	}
	if broker != nil {
		defer broker.Close()
	}
	var conns []connector.Connector
	if *connectorsPath != "" {
		embedded := ""
		if broker != nil {
			embedded = broker.Addr().String()
		}
		if conns, err = loadConnectors(*connectorsPath, embedded, e.getenv, logger); err != nil {
			return err
		}
	}
	d, err := openData(ctx, dir, logger)
	if err != nil {
		return err
	}
	return serveData(ctx, e, d, serveConfig{addr: *addr, maxBody: *maxBody, monitorFrom: from,
		tlsCert: *tlsCert, tlsKey: *tlsKey, secureCookies: *secureCookies, out: out, connectors: conns}, logger, nil)
}

// serveConfig is how serveData serves, and what it runs beside the API.
type serveConfig struct {
	addr            string
	maxBody         int64
	monitorFrom     time.Time // zero: January 1 of this year
	tlsCert, tlsKey string    // both or neither
	secureCookies   bool
	out             *outward // where checkpoints go out (nil: nowhere)
	connectors      []connector.Connector
}

// serveData serves an open data directory until ctx ends, then closes it:
// the API and pages, the monitor, the witnesses and exports, and the
// connectors. ready, if set, runs once the server listens, with its URL.
func serveData(ctx context.Context, e *env, d *data, cfg serveConfig, logger *slog.Logger, ready func(url string)) error {
	if cfg.monitorFrom.IsZero() {
		cfg.monitorFrom = monitor.DefaultFrom(time.Now())
	}
	var cert tls.Certificate
	if cfg.tlsCert != "" {
		var err error
		if cert, err = tls.LoadX509KeyPair(cfg.tlsCert, cfg.tlsKey); err != nil {
			return errors.Join(fmt.Errorf("TLS certificate: %w", err), d.Close())
		}
	}
	vkey, err := verifierKeyText(d)
	if err != nil {
		return errors.Join(fmt.Errorf("verifier key: %w", err), d.Close())
	}
	if users, err := d.users.ListUsers(ctx); err == nil && len(users) == 0 {
		fmt.Fprintf(e.stderr, "no user can sign in yet: add the first admin with\n  waarborg user add --data %s --name NAME --role admin --tenant '*'\n", d.dir)
	}
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", cfg.addr)
	if err != nil {
		return errors.Join(fmt.Errorf("listen: %w", err), d.Close())
	}

	// The monitor reads the store: it stops before the data directory closes.
	mon := monitor.New(monitor.Config{Store: d.store, From: cfg.monitorFrom})
	mctx, stopMonitor := context.WithCancel(ctx)
	var monitoring sync.WaitGroup
	monitoring.Go(func() {
		mon.Run(mctx, func(err error) { logger.Warn("monitor", "err", err) })
	})

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	// Witnesses and exports read the store and the ledger: they stop with the monitor.
	cfg.out.start(mctx, &monitoring, d, reg, logger)
	srv := &http.Server{
		Handler: web.NewServer(web.Deps{
			Ledger:        d.ledger,
			Store:         d.store,
			Users:         d.users,
			Verifier:      d.verifier,
			VerifierKey:   vkey,
			Deployment:    d.deployment,
			Logger:        logger,
			Metrics:       reg,
			MaxBody:       cfg.maxBody,
			Monitor:       mon,
			SecureCookies: cfg.secureCookies,
			Reporter:      d.reporter(),
			ReportDir:     filepath.Join(d.dir, reportsDir),
			Connectors:    cfg.connectors,
		}),
		ReadHeaderTimeout: 10 * time.Second,
		// Long enough for a full batch over a slow link, short enough that
		// a stalled client does not hold a connection for ever.
		ReadTimeout: 5 * time.Minute,
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	url := "http://" + ln.Addr().String()
	if cfg.tlsCert != "" {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
		url = "https://" + ln.Addr().String()
	}
	logger.Info("listening", "addr", url, "data", d.dir)
	fmt.Fprintf(e.stdout, "listening on %s\n", url)
	if ready != nil {
		ready(url)
	}

	// Connectors append to the ledger: they stop before it closes.
	cctx, stopConnectors := context.WithCancel(ctx)
	var connecting sync.WaitGroup
	connecting.Go(func() { runConnectors(cctx, cfg.connectors, ledgerSink(d.ledger, logger), logger) })

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err = <-served:
	case <-ctx.Done():
		logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		err = srv.Shutdown(sctx)
		cancel()
		if err != nil {
			err = errors.Join(fmt.Errorf("shutdown: %w", err), srv.Close())
		}
	}
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	stopConnectors()
	connecting.Wait()
	stopMonitor()
	monitoring.Wait()
	// The ledger closes after the server, so that every request it let in
	// is answered; closing signs the last checkpoints.
	if cerr := d.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("close data directory: %w", cerr))
	}
	if err == nil {
		logger.Info("stopped")
	}
	return err
}
