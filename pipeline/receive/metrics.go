package receive

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	requests     *prometheus.CounterVec
	events       *prometheus.CounterVec
	metricPoints prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "steadystate_ingest_requests_total", Help: "Requests by source and result (ok, rejected, unavailable, unauthorized, too_large).",
		}, []string{"source", "result"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "steadystate_ingest_events_total", Help: "Events acknowledged by Kafka, by source.",
		}, []string{"source"}),
		metricPoints: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "steadystate_ingest_metric_points_total", Help: "OTLP metric data points received and refused (metrics are not stored).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.events, m.metricPoints)
	}
	return m
}
