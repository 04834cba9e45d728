package flows

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/steadystate/steadystate/pipeline/experiment"
	"github.com/steadystate/steadystate/pipeline/query"
	"github.com/steadystate/steadystate/pipeline/store"
)

// Config configures a Checker.
type Config struct {
	// ConsumerGroup is the sink's consumer group, whose progress gives the
	// watermark. Default: steadystate-sink.
	ConsumerGroup string
	// Watermark derives the watermark and the pipeline state.
	Watermark WatermarkConfig
}

// NewDefaultConfig returns the defaults.
func NewDefaultConfig() Config {
	return Config{ConsumerGroup: "steadystate-sink", Watermark: NewDefaultWatermarkConfig()}
}

// Validate checks the config.
func (c Config) Validate() error {
	var errs []error
	if c.ConsumerGroup == "" {
		errs = append(errs, errors.New("consumer group: must not be empty"))
	}
	errs = append(errs, c.Watermark.Validate())
	return errors.Join(errs...)
}

// Checker reads flow items and sink progress from ClickHouse and evaluates
// them. It is safe for concurrent use.
type Checker struct {
	cfg   Config
	read  *query.Reader
	flows []experiment.Flow
}

// NewChecker checks flows (all of them, in order) with st. Flows with more
// than MaxStages stages are refused.
func NewChecker(cfg Config, st *store.Client, flows []experiment.Flow) (*Checker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("flow check config: %w", err)
	}
	for i := range flows {
		if n := len(flows[i].Stages); n == 0 || n > MaxStages {
			return nil, fmt.Errorf("flow %q (%s): %d stages; the check handles 1 to %d", flows[i].Name, flows[i].Pos, n, MaxStages)
		}
	}
	return &Checker{cfg: cfg, read: query.New(st), flows: flows}, nil
}

// Check evaluates every flow over items that started in [now-since, now).
// The read for a flow with an absence rule reaches back far enough to
// judge it (period plus the flow's window), but only items in the range
// are counted.
func (c *Checker) Check(ctx context.Context, now time.Time, since time.Duration) (*Report, error) {
	rep := &Report{GeneratedAt: now.UTC(), Since: now.Add(-since).UTC(), Until: now.UTC(), Flows: make([]FlowReport, 0, len(c.flows))}
	prog, err := c.Progress(ctx)
	if err != nil {
		return nil, err
	}
	rep.Pipeline = ComputePipeline(c.cfg.ConsumerGroup, prog, now, c.cfg.Watermark)
	for i := range c.flows {
		f := &c.flows[i]
		readSince := rep.Since
		if f.Absence != nil {
			if s := now.Add(-f.Absence.Period - f.Within - c.cfg.Watermark.LagAfter); s.Before(readSince) {
				readSince = s
			}
		}
		rows, err := c.Items(ctx, f, readSince, rep.Since, now)
		if err != nil {
			return nil, err
		}
		rep.Flows = append(rep.Flows, Evaluate(f, rows, EvalSettings{Now: now, Watermark: rep.Pipeline.Watermark}))
	}
	return rep, nil
}

// Progress reads the sink's latest progress per partition.
func (c *Checker) Progress(ctx context.Context) ([]ProgressRow, error) {
	return c.read.Progress(ctx, c.cfg.ConsumerGroup)
}

// Items reads one flow's items that started in [readSince, until); rows of
// items that started before reportSince have InReport false.
func (c *Checker) Items(ctx context.Context, f *experiment.Flow, readSince, reportSince, until time.Time) ([]ItemRow, error) {
	stages := make([]string, len(f.Stages))
	for i := range f.Stages {
		stages[i] = f.Stages[i].Name
	}
	return c.read.FlowItems(ctx, query.FlowItemsRequest{Flow: f.Name, Stages: stages, Since: readSince, ReportSince: reportSince, Until: until})
}
