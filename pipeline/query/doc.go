// Package query is the read side of Steadystate: every SELECT the analysis,
// the flow check, the report and the export run lives behind a *Reader
// method that returns typed rows. The SQL itself is in queries/ (embedded
// files, rendered and bound by pipeline/store); this package runs it and
// scans the rows, and nothing else in pipeline/ or cmd/ does.
//
// What it answers:
//
//   - runs: Runs, LatestRun, StartRun/StopRun (the runs table) and
//     ResolveWindow, the one resolver of --run/--since/--until;
//   - cohort counts: Buckets (cohort_stats through the settled cache),
//     SLICounts and LatencySample (raw events, for SLIs the view cannot
//     serve);
//   - a report's evidence: Series, AlertEvents, Differences;
//   - flows: FlowItems and Progress (the sink's watermark);
//   - the export: CountEvents and Events, an iterator over deduplicated
//     events.
//
// Data flows one way: query knows ClickHouse and the definitions
// (pipeline/experiment), and the stages after it (analysis, flows,
// findings) know query, never the reverse.
package query
