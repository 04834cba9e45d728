package pipeline_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/steadystate/steadystate/"

// allowed lists, for every package under pipeline/, the packages of this
// module its non-test code may import. Data flows one way:
//
//	ingest:     receive -> tag -> produce -> (Kafka, bus) -> sink -> store
//	read side:  store -> query -> analysis, flows, settle -> gather -> findings -> report, backlog
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
	"pipeline/settle":                {"pipeline/query"},
	"pipeline/gather":                {"pipeline/analysis", "pipeline/experiment", "pipeline/findings", "pipeline/flows", "pipeline/query", "pipeline/telemetry"},
	"pipeline/warroom":               {"pipeline/analysis", "pipeline/experiment", "pipeline/flows", "pipeline/listen", "pipeline/query"},
	"pipeline/synth":                 {"pipeline/experiment", "pipeline/telemetry", "pipeline/wait"},
	"pipeline/live":                  {"pipeline/analysis", "pipeline/experiment", "pipeline/flows", "pipeline/listen", "pipeline/notify", "pipeline/query", "pipeline/warroom"},
	"pipeline/export":                {"pipeline/query", "pipeline/telemetry"},
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

// TestReadmeLayout checks README's "Layout" section against the tree:
// every top-level folder, program under cmd/ and package under pipeline/
// and internal/ is named there (as `name/`, `pipeline/name/`, or by name
// under its internal/ home), and every `pipeline/...` or `internal/...`
// path it names exists.
func TestReadmeLayout(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n## Layout\n")
	if start < 0 {
		t.Fatal(`README.md has no "## Layout" section`)
	}
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	top, err := os.ReadDir("..")
	if err != nil {
		t.Fatal(err)
	}
	ignored := ignoredTopDirs(t)
	for _, e := range top {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") && !ignored[e.Name()] && !strings.Contains(section, "`"+e.Name()+"/`") {
			t.Errorf("README layout does not name the top-level folder %s/", e.Name())
		}
	}
	pkgs, err := filepath.Glob("*/*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range pkgs {
		dir := filepath.Dir(f)
		if seen[dir] {
			continue
		}
		seen[dir] = true
		if !strings.Contains(section, "`pipeline/"+dir+"/`") {
			t.Errorf("README layout does not name the package pipeline/%s/", dir)
		}
	}
	// The programs (cmd/NAME, named `NAME/`) and the homes under internal/
	// (internal/HOME named `HOME/`, each package below it by its name).
	for _, name := range subdirs(t, "../cmd") {
		if name != "internal" && !strings.Contains(section, "`"+name+"/`") {
			t.Errorf("README layout does not name the program cmd/%s/", name)
		}
	}
	for _, home := range subdirs(t, "../internal") {
		if !strings.Contains(section, "`"+home+"/`") {
			t.Errorf("README layout does not name internal/%s/", home)
		}
		for _, name := range subdirs(t, filepath.Join("../internal", home)) {
			if !strings.Contains(section, "`"+name+"`") && name != "testdata" {
				t.Errorf("README layout does not name internal/%s/%s", home, name)
			}
		}
	}
	for _, m := range regexp.MustCompile("`((?:pipeline|internal|cmd|queries)/[a-z0-9_/]*)`").FindAllStringSubmatch(section, -1) {
		if _, err := os.Stat(filepath.Join("..", m[1])); err != nil {
			t.Errorf("README layout names %s, which does not exist", m[1])
		}
	}
}

// subdirs lists the folders in dir.
func subdirs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	return names
}

// ignoredTopDirs names the top-level folders .gitignore keeps out of the
// repository (`/bin/`, `/out/`: what make demo and the builds leave),
// which are not part of the layout.
func ignoredTopDirs(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../.gitignore")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "/") && strings.HasSuffix(line, "/") && strings.Count(line, "/") == 2 {
			out[strings.Trim(line, "/")] = true
		}
	}
	return out
}
