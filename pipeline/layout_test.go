package pipeline_test

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/steadystate/steadystate/"

// allowed lists, for every package under pipeline/, the packages of this
// module its non-test code may import. Data flows one way:
//
//	ingest:     receive -> tag -> produce -> (Kafka, bus) -> sink -> store
//	read side:  store -> query -> analysis, flows -> gather -> findings -> report, backlog
//
// so a stage imports only what comes before it (the types it consumes) and
// the shared leaves (telemetry, experiment, stats, bus, wait, notify). No
// package under pipeline/ imports internal/ (test helpers, the demo,
// benchmarks) or cmd/. A new package needs a line here.
var allowed = map[string][]string{
	"pipeline/telemetry":             {},
	"pipeline/stats":                 {},
	"pipeline/wait":                  {},
	"pipeline/bus":                   {},
	"pipeline/listen":                {},
	"pipeline/findings":              {},
	"pipeline/experiment":            {"pipeline/telemetry"},
	"pipeline/notify":                {"pipeline/wait"},
	"pipeline/receive":               {"pipeline/telemetry"},
	"pipeline/tag":                   {"pipeline/experiment", "pipeline/telemetry"},
	"pipeline/produce":               {"pipeline/bus", "pipeline/telemetry"},
	"pipeline/store":                 {"queries"},
	"pipeline/sink":                  {"pipeline/bus", "pipeline/store", "pipeline/telemetry", "pipeline/wait"},
	"pipeline/retention":             {"pipeline/store", "queries"},
	"pipeline/query":                 {"pipeline/experiment", "pipeline/store", "pipeline/telemetry", "queries"},
	"pipeline/analysis":              {"pipeline/experiment", "pipeline/notify", "pipeline/query", "pipeline/stats", "pipeline/store", "pipeline/telemetry"},
	"pipeline/flows":                 {"pipeline/experiment", "pipeline/notify", "pipeline/query", "pipeline/store", "pipeline/telemetry"},
	"pipeline/gather":                {"pipeline/analysis", "pipeline/experiment", "pipeline/findings", "pipeline/flows", "pipeline/query", "pipeline/telemetry"},
	"pipeline/warroom":               {"pipeline/analysis", "pipeline/experiment", "pipeline/flows", "pipeline/listen", "pipeline/query"},
	"pipeline/export":                {"pipeline/telemetry"},
	"pipeline/report":                {"pipeline/findings"},
	"pipeline/backlog":               {"pipeline/findings"},
	"pipeline/findings/findingstest": {"pipeline/findings"},
}

// TestImportDirection checks the import graph of pipeline/ (go list,
// non-test imports) against allowed.
func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		if pkg == "pipeline" {
			continue // this test
		}
		ok, known := allowed[pkg]
		if !known {
			t.Errorf("%s: a new package under pipeline/: add its allowed imports to allowed in pipeline/layout_test.go", pkg)
			continue
		}
		var bad []string
		for _, imp := range fields[1:] {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			imp = strings.TrimPrefix(imp, module)
			if !contains(ok, imp) {
				bad = append(bad, imp)
			}
		}
		sort.Strings(bad)
		for _, imp := range bad {
			switch {
			case strings.HasPrefix(imp, "internal/") || strings.HasPrefix(imp, "cmd/"):
				t.Errorf("%s imports %s: pipeline/ must not import test helpers, the demo, benchmarks or commands", pkg, imp)
			default:
				t.Errorf("%s imports %s: against the data flow (allowed: %v)", pkg, imp, ok)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
