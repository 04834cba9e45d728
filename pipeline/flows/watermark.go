package flows

import (
	"fmt"
	"time"

	"github.com/steadystate/steadystate/pipeline/query"
)

// WatermarkConfig says how the watermark is derived and when the pipeline
// counts as lagging or stalled.
type WatermarkConfig struct {
	// Grace is subtracted from the watermark: events fetched but not yet
	// committed, and the ingest-to-Kafka delay. Default: 2s.
	Grace time.Duration
	// LagAfter: the pipeline is lagging when the watermark is further than
	// this behind now. Default: 15s.
	LagAfter time.Duration
	// StallAfter: the pipeline is stalled when no progress row was written
	// for this long (the sink heartbeats every 2s). Default: 10s.
	StallAfter time.Duration
}

// NewDefaultWatermarkConfig returns the defaults.
func NewDefaultWatermarkConfig() WatermarkConfig {
	return WatermarkConfig{Grace: 2 * time.Second, LagAfter: 15 * time.Second, StallAfter: 10 * time.Second}
}

// Validate checks the config.
func (c WatermarkConfig) Validate() error {
	if c.Grace < 0 || c.LagAfter <= 0 || c.StallAfter <= 0 {
		return fmt.Errorf("watermark: grace %s must be >= 0, lag-after %s and stall-after %s positive", c.Grace, c.LagAfter, c.StallAfter)
	}
	return nil
}

// ProgressRow is the sink's latest progress on one partition, as the read
// side returns it.
type ProgressRow = query.ProgressRow

// ComputePipeline derives the watermark and the pipeline's state from the
// sink's progress rows (see the package documentation for the reasoning).
func ComputePipeline(group string, rows []ProgressRow, now time.Time, cfg WatermarkConfig) Pipeline {
	p := Pipeline{ConsumerGroup: group, Partitions: make([]PartitionProgress, 0, len(rows))}
	if len(rows) == 0 {
		p.State = PipelineUnknown
		p.Message = fmt.Sprintf("no sink progress recorded for consumer group %q: is `ingest sink` running? No item is judged stuck until it is.", group)
		return p
	}
	var fresh int64
	for _, r := range rows {
		fresh = max(fresh, int64(r.LastUpdateNs))
	}
	wm := int64(-1)
	var behind []string
	for _, r := range rows {
		pw := int64(r.LastUpdateNs) // caught up as of its own check
		if r.CaughtUp == 0 {
			pw = int64(r.MaxEventNs)
			behind = append(behind, fmt.Sprintf("%s/%d", r.Topic, r.Partition))
		}
		if wm < 0 || pw < wm {
			wm = pw
		}
		p.Partitions = append(p.Partitions, PartitionProgress{
			Topic: r.Topic, Partition: r.Partition, CommittedOffset: r.CommittedOffset,
			MaxEvent: timePtr(int64(r.MaxEventNs)), CaughtUp: r.CaughtUp != 0, Updated: time.Unix(0, int64(r.LastUpdateNs)).UTC(),
		})
	}
	wm = min(wm, now.UnixNano()) - int64(cfg.Grace)
	wmt := time.Unix(0, wm).UTC()
	p.Watermark = &wmt
	p.LagSeconds = now.Sub(wmt).Seconds()
	p.LastProgress = timePtr(fresh)
	p.ProgressAgeSeconds = max(now.Sub(time.Unix(0, fresh)).Seconds(), 0)
	switch {
	case p.ProgressAgeSeconds > cfg.StallAfter.Seconds():
		p.State = PipelineStalled
		p.Message = fmt.Sprintf("the sink wrote no progress for %.0fs (consumer group %q): it is stopped, paused or cannot write; items are judged only up to the watermark, %.0fs behind now",
			p.ProgressAgeSeconds, group, p.LagSeconds)
	case p.LagSeconds > cfg.LagAfter.Seconds():
		p.State = PipelineLagging
		p.Message = fmt.Sprintf("the watermark is %.0fs behind now (partitions behind: %v); items are judged only up to it", p.LagSeconds, behind)
	default:
		p.State = PipelineOK
		p.Message = fmt.Sprintf("the sink is caught up; watermark %.1fs behind now", p.LagSeconds)
	}
	return p
}
