package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// stage is one step of the ingest path, measured by a Go benchmark whose
// name starts with BenchmarkStage and that reports ns/event.
type stage struct {
	side, name string // serve or sink; what the step does
	pkg, bench string
	// count is the stage's fixed -benchtime (Nx): a few hundred thousand
	// events each, so the framework never settles on a count too small to
	// amortize start-up work.
	count      string
	nsPerEvent float64
	allocs     float64 // allocations per event, when the benchmark reports them
}

// stageList is the ingest path in order. The produce, consume and insert
// stages talk to the local Kafka and ClickHouse (build tag integration).
var stageList = []stage{
	{side: "serve", name: "decode + tag (NDJSON body -> events)", pkg: "./pipeline/tag", bench: "BenchmarkStageDecodeTag", count: "300x"},
	{side: "serve", name: "trace cache (remember each trace)", pkg: "./pipeline/tag", bench: "BenchmarkStageTraceCache", count: "300x"},
	{side: "serve", name: "encode (wire JSON, key, headers)", pkg: "./pipeline/produce", bench: "BenchmarkStageEncode", count: "300x"},
	{side: "serve", name: "produce (franz-go, acks=all)", pkg: "./pipeline/produce", bench: "BenchmarkStageProduce", count: "300x"},
	{side: "sink", name: "consume (franz-go fetch)", pkg: "./pipeline/sink", bench: "BenchmarkStageConsume", count: "3x"},
	{side: "sink", name: "decode (wire JSON -> column slices)", pkg: "./pipeline/sink", bench: "BenchmarkStageDecode", count: "10x"},
	{side: "sink", name: "column build (native block)", pkg: "./pipeline/sink", bench: "BenchmarkStageColumns", count: "10x"},
	{side: "sink", name: "insert (send block, server ack)", pkg: "./pipeline/sink", bench: "BenchmarkStageInsert", count: "6x"},
}

// runStages runs the stage benchmarks, one go test per stage, each with
// its fixed count unless benchtime (a go test -benchtime) is given. A stage
// that fails is left out and the others still run; the error names every
// failed stage.
func runStages(benchtime string) ([]stage, error) {
	out := make([]stage, 0, len(stageList))
	var errs []error
	for _, s := range stageList {
		bt := s.count
		if benchtime != "" && benchtime != "fixed" {
			bt = benchtime
		}
		args := []string{"test", "-tags", "integration", "-run", "^$", "-count", "1", "-benchmem", "-benchtime", bt,
			"-bench", "^" + s.bench + "$", s.pkg}
		cmd := exec.Command("go", args...)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Run(); err != nil {
			errs = append(errs, fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, buf.String()))
			continue
		}
		results := map[string]stage{}
		parseBench(&buf, results)
		r, ok := results[s.bench]
		if !ok {
			errs = append(errs, fmt.Errorf("%s in %s reported no ns/event", s.bench, s.pkg))
			continue
		}
		s.nsPerEvent, s.allocs = r.nsPerEvent, r.allocs
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}

// parseBench reads `go test -bench` output lines such as
// "BenchmarkStageDecode-2  1000000  812 ns/op  812.0 ns/event  0.01 allocs/event".
func parseBench(r io.Reader, into map[string]stage) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "BenchmarkStage") {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
		var s stage
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/event":
				s.nsPerEvent = v
			case "allocs/event":
				s.allocs = v
			}
		}
		if s.nsPerEvent > 0 {
			into[name] = s
		}
	}
}

func printStages(w io.Writer, stages []stage) {
	var total float64
	side := map[string]float64{}
	for _, s := range stages {
		total += s.nsPerEvent
		side[s.side] += s.nsPerEvent
	}
	fmt.Fprintf(w, "per-stage cost split (Go benchmarks, one op = one event; CPU time of the Go side only, not Kafka's or ClickHouse's):\n")
	fmt.Fprintf(w, "  %-6s %-40s %10s %7s %12s\n", "side", "stage", "ns/event", "share", "allocs/event")
	for _, s := range stages {
		fmt.Fprintf(w, "  %-6s %-40s %10.0f %6.1f%% %12.3f\n", s.side, s.name, s.nsPerEvent, 100*s.nsPerEvent/total, s.allocs)
	}
	fmt.Fprintf(w, "  serve %.0f ns/event, sink %.0f ns/event, total %.0f ns/event (= %.2f CPU-s per 1M events if nothing else ran)\n",
		side["serve"], side["sink"], total, total/1e3)
	fmt.Fprintf(w, "  hottest stage: %s\n", hottest(stages))
}

func hottest(stages []stage) string {
	best := stages[0]
	for _, s := range stages[1:] {
		if s.nsPerEvent > best.nsPerEvent {
			best = s
		}
	}
	return best.side + " " + best.name
}
