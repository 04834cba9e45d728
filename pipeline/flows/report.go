package flows

import "time"

// State is the judgement of one item.
type State string

// Item states.
const (
	StateComplete State = "complete"
	StateInFlight State = "in_flight"
	StateStuck    State = "stuck"
)

// Status is the judgement of one flow.
type Status string

// Flow statuses.
const (
	StatusHealthy Status = "healthy"
	StatusIdle    Status = "idle"
	StatusBroken  Status = "broken"
)

// PipelineState says whether the ingest pipeline keeps up.
type PipelineState string

// Pipeline states.
const (
	// PipelineOK: progress is recent and the watermark close to now.
	PipelineOK PipelineState = "ok"
	// PipelineLagging: the sink writes progress but its watermark is more
	// than LagAfter behind now.
	PipelineLagging PipelineState = "lagging"
	// PipelineStalled: no progress row for StallAfter: the sink is stopped,
	// paused or cannot write.
	PipelineStalled PipelineState = "stalled"
	// PipelineUnknown: no progress rows at all for the consumer group.
	PipelineUnknown PipelineState = "unknown"
)

// Report is the result of one check over every flow checked. It is what
// `analyze flows check --output json` prints.
type Report struct {
	// GeneratedAt is the evaluation time ("now").
	GeneratedAt time.Time `json:"generated_at"`
	// Since and Until bound the first event of the items reported.
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Pipeline is the state of the ingest pipeline and its watermark.
	Pipeline Pipeline `json:"pipeline"`
	// Flows in definition order.
	Flows []FlowReport `json:"flows"`
}

// Pipeline is the ingest pipeline finding: how far the sink has committed
// and whether it moves.
type Pipeline struct {
	State PipelineState `json:"state"`
	// Message explains State in a sentence.
	Message string `json:"message"`
	// ConsumerGroup is the sink's consumer group whose progress was read.
	ConsumerGroup string `json:"consumer_group"`
	// Watermark is the event time up to which items are judged; null when
	// unknown (then nothing is judged stuck).
	Watermark *time.Time `json:"watermark"`
	// LagSeconds is now minus Watermark (0 when unknown).
	LagSeconds float64 `json:"lag_seconds"`
	// LastProgress is the newest progress row's time; null when none.
	LastProgress *time.Time `json:"last_progress"`
	// ProgressAgeSeconds is now minus LastProgress.
	ProgressAgeSeconds float64 `json:"progress_age_seconds"`
	// Partitions is the latest progress per partition.
	Partitions []PartitionProgress `json:"partitions"`
}

// PartitionProgress is the sink's latest progress on one partition.
type PartitionProgress struct {
	Topic           string `json:"topic"`
	Partition       int32  `json:"partition"`
	CommittedOffset int64  `json:"committed_offset"`
	// MaxEvent is the newest event time committed there; absent when the
	// newest row came from a sink that found the partition caught up
	// without having read it (another member of the group owns it).
	MaxEvent *time.Time `json:"max_event,omitempty"`
	CaughtUp bool       `json:"caught_up"`
	Updated  time.Time  `json:"updated"`
}

// Counts are items by state.
type Counts struct {
	Items    uint64 `json:"items"`
	Complete uint64 `json:"complete"`
	InFlight uint64 `json:"in_flight"`
	Stuck    uint64 `json:"stuck"`
}

func (c *Counts) add(s State, n uint64) {
	c.Items += n
	switch s {
	case StateComplete:
		c.Complete += n
	case StateInFlight:
		c.InFlight += n
	case StateStuck:
		c.Stuck += n
	}
}

// FlowReport is the check of one flow.
type FlowReport struct {
	Flow   string `json:"flow"`
	Status Status `json:"status"`
	// Reason explains Status in a sentence.
	Reason        string   `json:"reason"`
	Stages        []string `json:"stages"`
	WithinSeconds float64  `json:"within_seconds"`
	Severity      string   `json:"severity"`
	Owner         string   `json:"owner,omitempty"`
	RunbookURL    string   `json:"runbook_url,omitempty"`
	// Counts are real (not synthetic) items that started in [since, until).
	Counts Counts `json:"counts"`
	// Synthetic are synthetic items that started in [since, until).
	Synthetic Counts `json:"synthetic"`
	// Cohorts splits Counts by experiment and cohort.
	Cohorts []CohortCounts `json:"cohorts"`
	// Funnel has one entry per stage, in order, over real items.
	Funnel []StageCount `json:"funnel"`
	// Stuck lists stuck items (real and synthetic), oldest first.
	Stuck []StuckItem `json:"stuck"`
	// StuckOmitted counts stuck items left out of Stuck by a listing limit.
	StuckOmitted int `json:"stuck_omitted"`
	// LastStarted is the newest start of a real item seen; null if none.
	LastStarted *time.Time `json:"last_started"`
	// LastSyntheticCompleted is the newest completion of a synthetic item
	// (its last event); null if none.
	LastSyntheticCompleted *time.Time `json:"last_synthetic_completed"`
	// Absence is the absence rule's judgement, when the flow has one.
	Absence *AbsenceResult `json:"absence,omitempty"`
}

// CohortCounts are the real items of one experiment and cohort ("" and
// "none" for items outside any experiment).
type CohortCounts struct {
	ExperimentID string `json:"experiment_id"`
	Cohort       string `json:"cohort"`
	Counts       Counts `json:"counts"`
}

// StageCount is one step of the funnel.
type StageCount struct {
	Stage string `json:"stage"`
	// Reached counts real items that were seen at this stage.
	Reached uint64 `json:"reached"`
	// StuckHere counts real stuck items whose last stage reached is this.
	StuckHere uint64 `json:"stuck_here"`
}

// StuckItem is one stuck item.
type StuckItem struct {
	Key string `json:"key"`
	// LastStage is the furthest stage reached; LastStageIndex its 0-based
	// position in the flow's stages.
	LastStage      string `json:"last_stage"`
	LastStageIndex int    `json:"last_stage_index"`
	// StuckAt is the missing stage whose deadline passed first.
	StuckAt string `json:"stuck_at"`
	// Missing are the stages not seen, in flow order.
	Missing []string `json:"missing"`
	// FirstSeen and LastSeen are the item's first and last event times.
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Deadline is when StuckAt was due.
	Deadline time.Time `json:"deadline"`
	// StuckForSeconds is how long ago the deadline passed (now - Deadline).
	StuckForSeconds float64 `json:"stuck_for_seconds"`
	// LastSeenSecondsAgo is now - LastSeen.
	LastSeenSecondsAgo float64 `json:"last_seen_seconds_ago"`
	ExperimentID       string  `json:"experiment_id"`
	Cohort             string  `json:"cohort"`
	Synthetic          bool    `json:"synthetic"`
}

// AbsenceResult is the judgement of a flow's absence rule.
type AbsenceResult struct {
	PeriodSeconds float64 `json:"period_seconds"`
	SyntheticOnly bool    `json:"synthetic_only"`
	// Firing: nothing started (synthetic_only: no synthetic item completed)
	// in the period before the watermark.
	Firing bool `json:"firing"`
	// Last is the newest start (or synthetic completion) seen; null if none.
	Last    *time.Time `json:"last"`
	Message string     `json:"message"`
}

func timePtr(ns int64) *time.Time {
	if ns <= 0 {
		return nil
	}
	t := time.Unix(0, ns).UTC()
	return &t
}
