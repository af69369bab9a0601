package web

import (
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/waarborg/waarborg"
)

type metrics struct {
	gatherer prometheus.Gatherer
	records  *prometheus.CounterVec   // by outcome: accepted, duplicate, rejected
	requests *prometheus.HistogramVec // by method, route, code
}

func newMetrics(reg *prometheus.Registry, store waarborg.Store) *metrics {
	m := &metrics{
		gatherer: reg,
		records: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waarborg_records_total",
			Help: "Records received over HTTP, by outcome: accepted, duplicate or rejected.",
		}, []string{"outcome"})),
		requests: register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "waarborg_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method, route pattern and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"method", "route", "code"})),
	}
	for _, o := range []string{"accepted", "duplicate", "rejected"} {
		m.records.WithLabelValues(o) // so that rates start from zero, not from absence
	}
	if store != nil {
		register(reg, &sizeCollector{store: store})
	}
	return m
}

// register registers c, or returns the collector of the same description
// already there, so that two servers can share one registry.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err) // a programming error: two metrics of one name and other shapes
	}
	return c
}

var sizeDesc = prometheus.NewDesc("waarborg_ledger_size", "Entries in a tenant's log.", []string{"tenant"}, nil)

// sizeCollector reads the log sizes from the store at each scrape: the
// store, not this process, knows what is durable, also after a restart.
type sizeCollector struct {
	store waarborg.Store
}

func (c *sizeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- sizeDesc }

func (c *sizeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tenants, err := c.store.Tenants(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(sizeDesc, err)
		return
	}
	for _, t := range tenants {
		n, err := c.store.Size(ctx, t)
		if err != nil {
			ch <- prometheus.NewInvalidMetric(sizeDesc, err)
			return
		}
		ch <- prometheus.MustNewConstMetric(sizeDesc, prometheus.GaugeValue, float64(n), t)
	}
}
