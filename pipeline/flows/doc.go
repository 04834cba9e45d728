// Package flows answers "have we got all the expected events within the
// window?" for every business flow (experiment.Flow): which items are
// complete, which are still in flight and which are stuck, at which stage,
// and since when; how far each stage's funnel gets, per cohort; whether the
// flow is healthy, idle or broken; and whether it went quiet (absence).
// Its result types are exported with stable JSON names: `analyze flows
// check --output json` prints a Report, `analyze watch` turns one into
// alerts (Alerts), and the findings report reuses FlowReport.
//
// # Items and states
//
// An item is one value of the flow's key. Ingest (pipeline/tag) stamps the
// flow, key and stage on every event; the flow_stages materialized view
// keeps, per flow, day, key and stage, the first and last time seen and
// the item's experiment, cohort and synthetic marker. Min and max are
// idempotent, so duplicate events change nothing. One query per flow
// (queries/alerts/flow_sweep.sql) returns every incomplete item as a row
// and complete items only as counts, and Evaluate judges each incomplete
// item:
//
//   - complete: every stage was seen (late stages included);
//   - stuck: some stage is missing and its deadline (the item's first event
//     plus the stage's deadline, by default the flow's within) is at or
//     before the watermark;
//   - in_flight: some stage is missing, but no missing stage's deadline has
//     passed the watermark yet.
//
// A stuck item's last_stage is the furthest stage reached; missing lists
// the stages not seen, and stuck_at the missing stage whose deadline passed
// first.
//
// # The watermark: judging only what the pipeline has delivered
//
// Wall-clock time is the wrong yardstick: when the sink is paused for 30 s,
// every item in flight would look stuck although its events are waiting in
// Kafka. Items are judged against the ingest watermark instead, the event
// time up to which the sink has committed everything, read from the
// sink_progress table (one row per consumer group, topic and partition,
// written for every partition of the topic after each committed batch and
// every 2 s while idle; pipeline/sink/progress.go states what a row claims):
//
//   - a partition that was caught up at its row (the group's committed
//     offset had reached its high-water mark when the sink asked the
//     brokers) has delivered everything acknowledged before that check, so
//     it counts up to its own row's time; a busier sibling's fresher row
//     lends it nothing, as records may have arrived there since;
//   - a partition that was behind has delivered events up to its
//     max_event_ns, and nothing after it can be assumed; one nobody has
//     committed on yet (only its placeholder row) has delivered nothing;
//   - the watermark is the minimum over the partitions, minus Grace (default
//     2 s), which covers the time from an event's own timestamp to Kafka's
//     acknowledgement of it (the client's export interval, ingest, produce);
//   - with no progress rows at all the watermark is unknown and no item is
//     judged stuck.
//
// A paused or lagging pipeline therefore only keeps items in_flight longer;
// it is reported by itself in Pipeline: "stalled" when no progress row was
// written for StallAfter (default 10 s), "lagging" when the watermark is
// more than LagAfter (default 15 s) behind now. Absence is judged against
// the watermark too, so a stopped sink does not look like a quiet flow.
//
// Limits, stated: event times are the clients' clocks, so an event sent
// more than Grace after its own timestamp may arrive after its item was
// judged (the item then moves from stuck to complete on the next check);
// the partitions are checked against the brokers, so a partition whose owner
// died counts as caught up only while nothing new arrives there.
//
// # Synthetic items and status
//
// Items whose events carry chaos.synthetic=true (ingest synth) prove the
// flow works when real traffic is quiet. They are counted apart
// (FlowReport.Synthetic) and never in Counts, Cohorts or Funnel. A flow is
//
//   - broken: an item (real or synthetic) is stuck, or the absence rule
//     holds;
//   - healthy: not broken, and real items started in the checked range;
//   - idle: not broken and no real items; Reason says whether synthetic
//     items completed meanwhile (alive) or nothing arrived at all.
package flows
