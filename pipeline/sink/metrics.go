package sink

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	records      *prometheus.CounterVec
	batches      prometheus.Counter
	batchRows    prometheus.Histogram
	batchBytes   prometheus.Histogram
	batchAge     prometheus.Histogram
	insertTime   prometheus.Histogram
	retries      prometheus.Counter
	duplicates   prometheus.Counter
	lag          *prometheus.GaugeVec
	commits      prometheus.Counter
	commitErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "steadystate_sink_records_total", Help: "Kafka records handled, by result (inserted, dead_lettered).",
		}, []string{"result"}),
		batches:    prometheus.NewCounter(prometheus.CounterOpts{Name: "steadystate_sink_batches_total", Help: "Batches inserted into ClickHouse."}),
		batchRows:  prometheus.NewHistogram(prometheus.HistogramOpts{Name: "steadystate_sink_batch_rows", Help: "Rows per inserted batch.", Buckets: prometheus.ExponentialBuckets(10, 4, 8)}),
		batchBytes: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "steadystate_sink_batch_bytes", Help: "Record bytes per inserted batch.", Buckets: prometheus.ExponentialBuckets(4096, 4, 9)}),
		batchAge:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "steadystate_sink_batch_age_seconds", Help: "Time from a batch's first record to its flush.", Buckets: prometheus.DefBuckets}),
		insertTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "steadystate_sink_insert_duration_seconds", Help: "Latency of successful ClickHouse inserts.", Buckets: prometheus.DefBuckets}),
		retries:    prometheus.NewCounter(prometheus.CounterOpts{Name: "steadystate_sink_insert_retries_total", Help: "Insert attempts that failed and were retried."}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "steadystate_sink_duplicate_rows_total",
			Help: "Rows whose event id this sink already inserted recently (raw duplicates; queries count distinct events).",
		}),
		lag:          prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "steadystate_sink_consumer_lag", Help: "Records behind the partition's high watermark at the last fetch."}, []string{"partition"}),
		commits:      prometheus.NewCounter(prometheus.CounterOpts{Name: "steadystate_sink_commits_total", Help: "Offset commits after successful inserts."}),
		commitErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "steadystate_sink_commit_errors_total", Help: "Offset commits that failed (the records will be redelivered and deduplicated)."}),
	}
	if reg != nil {
		reg.MustRegister(m.records, m.batches, m.batchRows, m.batchBytes, m.batchAge, m.insertTime, m.retries, m.duplicates, m.lag, m.commits, m.commitErrors)
	}
	return m
}
