package query

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/steadystate/steadystate/pipeline/telemetry"
	"github.com/steadystate/steadystate/queries"
)

// ItemRow is one row of queries/alerts/flow_sweep.sql: the items of one
// flow key (usually one) of one experiment, cohort and synthetic flag.
type ItemRow struct {
	Key          string
	ExperimentID string
	Cohort       telemetry.Cohort
	Synthetic    bool
	// InReport: the items started at or after the report's Since (older
	// rows only feed absence).
	InReport   bool
	Items      uint64
	MinFirstNs int64
	MaxFirstNs int64
	MaxLastNs  int64
	// Mask has bit i set when stage i was seen.
	Mask uint64
}

// ProgressRow is one row of queries/ingest/watermark.sql: the sink's
// latest progress on one partition.
type ProgressRow struct {
	Topic           string
	Partition       int32
	CommittedOffset int64
	MaxEventNs      uint64
	CaughtUp        uint8
	LastUpdateNs    uint64
}

// FlowItemsRequest selects one flow's items that started in [Since,
// Until); rows of items that started before ReportSince have InReport
// false.
type FlowItemsRequest struct {
	Flow        string
	Stages      []string
	Since       time.Time
	ReportSince time.Time
	Until       time.Time
}

// FlowItems reads queries/alerts/flow_sweep.sql.
func (r *Reader) FlowItems(ctx context.Context, req FlowItemsRequest) ([]ItemRow, error) {
	var out []ItemRow
	err := r.each(ctx, "alerts/flow_sweep.sql", queries.Params{
		"flow": req.Flow, "stages": req.Stages, "full_mask": FullMask(len(req.Stages)),
		"since_ns": req.Since.UnixNano(), "report_since_ns": req.ReportSince.UnixNano(), "until_ns": req.Until.UnixNano(),
	}, func(rows driver.Rows) error {
		var (
			row                ItemRow
			cohort, syn, inRep uint8
			minF, maxF, maxL   uint64
		)
		if err := rows.Scan(&row.Key, &row.ExperimentID, &cohort, &syn, &inRep, &row.Items, &minF, &maxF, &maxL, &row.Mask); err != nil {
			return fmt.Errorf("scan item: %w", err)
		}
		row.Cohort, row.Synthetic, row.InReport = telemetry.Cohort(cohort), syn != 0, inRep != 0
		row.MinFirstNs, row.MaxFirstNs, row.MaxLastNs = int64(minF), int64(maxF), int64(maxL)
		out = append(out, row)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("flow %s: %w", req.Flow, err)
	}
	return out, nil
}

// Progress reads the latest progress per partition of the sink's consumer
// group (queries/ingest/watermark.sql).
func (r *Reader) Progress(ctx context.Context, consumerGroup string) ([]ProgressRow, error) {
	var out []ProgressRow
	err := r.each(ctx, "ingest/watermark.sql", queries.Params{"consumer_group": consumerGroup}, func(rows driver.Rows) error {
		var p ProgressRow
		if err := rows.Scan(&p.Topic, &p.Partition, &p.CommittedOffset, &p.MaxEventNs, &p.CaughtUp, &p.LastUpdateNs); err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sink progress: %w", err)
	}
	return out, nil
}

// FullMask is the stage mask of an item that passed all n stages.
func FullMask(n int) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return uint64(1)<<n - 1
}
