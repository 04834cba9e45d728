package experiment

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Load parses and validates one definition file's content; filename is used
// in error messages only. The file must be complete on its own: flows that
// its experiments name must be defined in it too (use LoadFiles or LoadDir
// to combine files).
func Load(data []byte, filename string) (*Spec, error) {
	spec, errs := parse(data, filename)
	return finish(spec, errs)
}

// LoadFile reads and loads one definition file (see Load).
func LoadFile(path string) (*Spec, error) {
	return LoadFiles(path)
}

// LoadFiles reads the files in order, merges them into one Spec and
// validates the result. Experiment ids and flow names must be unique across
// all files, and an experiment may name a flow from any of them.
func LoadFiles(paths ...string) (*Spec, error) {
	merged := &Spec{}
	var errs []*FieldError
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("experiment: %w", err)
		}
		s, es := parse(data, p)
		merged.Experiments = append(merged.Experiments, s.Experiments...)
		merged.Flows = append(merged.Flows, s.Flows...)
		errs = append(errs, es...)
	}
	return finish(merged, errs)
}

// LoadDir loads every *.yaml and *.yml file directly in dir, in name order,
// as LoadFiles does. Subdirectories (such as examples/) and names starting
// with "." are skipped. A directory without definition files gives an empty
// Spec.
func LoadDir(dir string) (*Spec, error) {
	paths, err := specFiles(dir)
	if err != nil {
		return nil, err
	}
	return LoadFiles(paths...)
}

// LoadDefinitions is LoadDir for the commands' --experiments directory:
// a directory that does not exist is an empty Spec, so commands that can
// work from telemetry alone (compare with the default SLIs) still run.
// Errors name the directory.
func LoadDefinitions(dir string) (*Spec, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return &Spec{}, nil
	}
	spec, err := LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("loading definitions from %s: %w", dir, err)
	}
	return spec, nil
}

// Lookup is the definition of id, or nil when the spec has none (compare,
// live and replay then use the default SLIs).
func (s *Spec) Lookup(id string) *Experiment {
	e, _ := s.Experiment(id)
	return e
}

func specFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("experiment: %w", err)
	}
	var paths []string
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if strings.HasPrefix(name, ".") || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		p := filepath.Join(dir, name)
		if e.IsDir() {
			continue
		}
		if e.Type()&os.ModeSymlink != 0 {
			if fi, err := os.Stat(p); err != nil || fi.IsDir() {
				continue
			}
		}
		paths = append(paths, p)
	}
	return paths, nil // os.ReadDir sorts by name
}

func finish(spec *Spec, errs []*FieldError) (*Spec, error) {
	applyDefaults(spec)
	c := &checker{errs: errs}
	spec.check(c)
	if err := c.err(); err != nil {
		return nil, err
	}
	return spec, nil
}

// applyDefaults fills in the defaults Load documents.
func applyDefaults(s *Spec) {
	for i := range s.Experiments {
		e := &s.Experiments[i]
		for j := range e.SLIs {
			if e.SLIs[j].Tolerance.Direction == "" {
				e.SLIs[j].Tolerance.Direction = defaultDirection(e.SLIs[j].Type)
			}
		}
	}
	for i := range s.Flows {
		if s.Flows[i].Severity == "" {
			s.Flows[i].Severity = SeverityTicket
		}
	}
}

// fileInfo holds what decoding one file learned about positions: the place
// of every field path, and the paths that failed to decode (validation stays
// quiet about those, so one mistake gives one error).
type fileInfo struct {
	name string
	pos  map[string]Position
	bad  map[string]bool
}

// source ties a decoded experiment or flow to its file and file-local path.
type source struct {
	f    *fileInfo
	path string
}

// maxNodes bounds the nodes visited in one file, alias expansion included.
const maxNodes = 1 << 20

var errTooManyNodes = errors.New("too many nodes")

type decoder struct {
	f      *fileInfo
	errs   []*FieldError
	budget int
}

// fields maps a mapping key to the decoder of its value; the decoder gets
// the value (never null: null values count as absent) and its path.
type fields map[string]func(v *yaml.Node, path string)

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func parse(data []byte, filename string) (spec *Spec, errs []*FieldError) {
	spec = &Spec{}
	f := &fileInfo{name: filename, pos: map[string]Position{}, bad: map[string]bool{}}
	syntax := func(err error) []*FieldError {
		fe := &FieldError{Pos: Position{File: filename}, Msg: err.Error()}
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			fe.Pos.Line, _ = strconv.Atoi(m[1])
			fe.Msg = "yaml: " + m[2]
			if isParserError(m[2]) {
				fe.Pos.Line++
			}
		}
		return []*FieldError{fe}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return spec, nil
		}
		return spec, syntax(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return spec, []*FieldError{{Pos: Position{filename, extra.Line, extra.Column},
			Msg: "more than one YAML document in a file is not supported"}}
	} else if !errors.Is(err, io.EOF) {
		return spec, syntax(err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return spec, nil
	}
	d := &decoder{f: f, budget: maxNodes}
	defer func() {
		if r := recover(); r != nil {
			if r != errTooManyNodes { //nolint:errorlint // sentinel identity
				panic(r)
			}
			spec = &Spec{}
			errs = []*FieldError{{Pos: Position{File: filename},
				Msg: fmt.Sprintf("more than %d YAML nodes (after expanding aliases)", maxNodes)}}
		}
	}()
	root := d.resolve(doc.Content[0])
	if isNull(root) {
		return spec, nil
	}
	d.mapping(root, "", fields{
		"experiments": d.list(func(v *yaml.Node, p string) {
			spec.Experiments = append(spec.Experiments, d.experiment(v, p))
		}),
		"flows": d.list(func(v *yaml.Node, p string) {
			spec.Flows = append(spec.Flows, d.flow(v, p))
		}),
	})
	return spec, d.errs
}

// isParserError reports whether a yaml.v3 message comes from its parser,
// which reports 0-based lines (its scanner reports 1-based ones).
func isParserError(msg string) bool {
	for _, p := range []string{"did not find expected", "found duplicate %", "found incompatible YAML document", "found undefined tag handle"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func (d *decoder) position(n *yaml.Node) Position {
	return Position{File: d.f.name, Line: n.Line, Column: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.f.bad[path] = true
	d.notef(n, path, format, args...)
}

// notef reports an error without marking path as failed to decode.
func (d *decoder) notef(n *yaml.Node, path, format string, args ...any) {
	d.errs = append(d.errs, &FieldError{Pos: d.position(n), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// resolve follows aliases and counts the node against the budget.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	d.budget--
	if d.budget < 0 {
		panic(errTooManyNodes)
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a node's type and value for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		v := n.Value
		if len(v) > 40 {
			v = v[:40] + "..."
		}
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!str":
			return strconv.Quote(v)
		case "!!int", "!!float":
			return "number " + v
		case "!!bool":
			return "bool " + v
		case "!!timestamp":
			return "timestamp " + v
		}
		return v
	}
	return "unknown node"
}

func joinField(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func joinIndex(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

func joinKey(path, key string) string { return fmt.Sprintf("%s[%q]", path, key) }

// mapping decodes a mapping node field by field; it reports unknown and
// duplicate keys and returns false if n is not a mapping.
func (d *decoder) mapping(n *yaml.Node, path string, fs fields) bool {
	d.f.pos[path] = d.position(n)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "want a mapping, got %s", describe(n))
		return false
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := d.resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.notef(k, path, "want a field name, got %s", describe(k))
			continue
		}
		name := k.Value
		if k.ShortTag() == "!!merge" {
			d.errorf(k, path, "merge keys (<<) are not supported")
			continue
		}
		if prev, dup := seen[name]; dup {
			d.notef(k, path, "duplicate field %q (first at line %d)", name, prev.Line)
			continue
		}
		seen[name] = k
		fn, ok := fs[name]
		if !ok {
			msg := fmt.Sprintf("unknown field %q", name)
			if s := suggest(name, fs); s != "" {
				msg += fmt.Sprintf(", did you mean %q?", s)
			}
			d.notef(k, path, "%s", msg)
			continue
		}
		p := joinField(path, name)
		d.f.pos[p] = d.position(v)
		if v = d.resolve(v); isNull(v) {
			continue
		}
		fn(v, p)
	}
	return true
}

// suggest returns the known field closest to name, if close enough.
func suggest(name string, fs fields) string {
	best, bestDist := "", 3
	keys := make([]string, 0, len(fs))
	for k := range fs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if dist := editDistance(name, k); dist < bestDist {
			best, bestDist = k, dist
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// list returns a field decoder for a list whose items each is decoded by
// item (null items included, so that indexes stay those of the file).
func (d *decoder) list(item func(v *yaml.Node, path string)) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, path, "want a list, got %s", describe(n))
			return
		}
		for i, c := range n.Content {
			p := joinIndex(path, i)
			d.f.pos[p] = d.position(c)
			item(d.resolve(c), p)
		}
	}
}

func (d *decoder) str(dst *string) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			d.errorf(n, path, "want a string, got %s", describe(n))
			return
		}
		*dst = n.Value
	}
}

// text accepts any scalar and keeps its literal text: values compared with
// telemetry attributes, where `variant: on` and `code: 200` mean the strings.
func (d *decoder) text(dst *string) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		if n.Kind != yaml.ScalarNode || isNull(n) {
			d.errorf(n, path, "want a string, got %s", describe(n))
			return
		}
		*dst = n.Value
	}
}

func (d *decoder) stringList(dst *[]string) func(*yaml.Node, string) {
	return d.list(func(n *yaml.Node, path string) {
		var s string
		d.str(&s)(n, path)
		*dst = append(*dst, s)
	})
}

func (d *decoder) stringMap(dst *map[string]string) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		d.f.pos[path] = d.position(n)
		if n.Kind != yaml.MappingNode {
			d.errorf(n, path, "want a mapping of names to values, got %s", describe(n))
			return
		}
		m := make(map[string]string, len(n.Content)/2)
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := d.resolve(n.Content[i]), d.resolve(n.Content[i+1])
			if k.Kind != yaml.ScalarNode || isNull(k) {
				d.notef(k, path, "want a name, got %s", describe(k))
				continue
			}
			p := joinKey(path, k.Value)
			if line, dup := seen[k.Value]; dup {
				d.notef(k, path, "duplicate name %q (first at line %d)", k.Value, line)
				continue
			}
			seen[k.Value] = k.Line
			d.f.pos[p] = d.position(v)
			var s string
			d.text(&s)(v, p)
			m[k.Value] = s
		}
		*dst = m
	}
}

func (d *decoder) number(n *yaml.Node, path string) (float64, bool) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!int" && n.ShortTag() != "!!float") {
		d.errorf(n, path, "want a number, got %s", describe(n))
		return 0, false
	}
	var f float64
	if err := n.Decode(&f); err != nil {
		d.errorf(n, path, "want a number, got %s", describe(n))
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		d.errorf(n, path, "must be a finite number, got %s", n.Value)
		return 0, false
	}
	return f, true
}

func (d *decoder) float(dst *float64) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		if f, ok := d.number(n, path); ok {
			*dst = f
		}
	}
}

func (d *decoder) floatPtr(dst **float64) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		if f, ok := d.number(n, path); ok {
			*dst = &f
		}
	}
}

// quantity decodes a number, or a duration (as seconds) for latency values.
func (d *decoder) quantity(n *yaml.Node, path string) (v float64, isDuration, ok bool) {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" {
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.errorf(n, path, "want a number (or a duration for latency SLIs), got %s", describe(n))
			return 0, false, false
		}
		return dur.Seconds(), true, true
	}
	v, ok = d.number(n, path)
	return v, false, ok
}

func (d *decoder) duration(dst *time.Duration) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
			d.errorf(n, path, "want a duration like 90s or 2m, got %s", describe(n))
			return
		}
		dur, err := time.ParseDuration(n.Value)
		if err != nil {
			d.errorf(n, path, "invalid duration %q (want Go syntax like 90s, 2m, 1h30m)", n.Value)
			return
		}
		*dst = dur
	}
}

func (d *decoder) boolean(dst *bool) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" || n.Decode(dst) != nil {
			d.errorf(n, path, "want true or false, got %s", describe(n))
		}
	}
}

func (d *decoder) timestamp(dst *time.Time) func(*yaml.Node, string) {
	return func(n *yaml.Node, path string) {
		tag := n.ShortTag()
		if n.Kind != yaml.ScalarNode || (tag != "!!timestamp" && tag != "!!str") {
			d.errorf(n, path, "want an RFC 3339 time like 2026-11-21T10:00:00Z, got %s", describe(n))
			return
		}
		t, err := time.Parse(time.RFC3339Nano, n.Value)
		if err != nil {
			d.errorf(n, path, "want an RFC 3339 time like 2026-11-21T10:00:00Z, got %s", describe(n))
			return
		}
		*dst = t
	}
}

func (d *decoder) experiment(n *yaml.Node, path string) Experiment {
	e := Experiment{Pos: d.position(n), src: &source{f: d.f, path: path}}
	d.mapping(n, path, fields{
		"id":         d.str(&e.ID),
		"title":      d.str(&e.Title),
		"hypothesis": d.str(&e.Hypothesis),
		"owner":      d.str(&e.Owner),
		"window": func(v *yaml.Node, p string) {
			w := &Window{}
			if d.mapping(v, p, fields{"start": d.timestamp(&w.Start), "end": d.timestamp(&w.End)}) {
				e.Window = w
			}
		},
		"cohorts": func(v *yaml.Node, p string) {
			d.mapping(v, p, fields{
				"expected_split": func(v *yaml.Node, p string) {
					sp := &e.Cohorts.ExpectedSplit
					d.mapping(v, p, fields{"experiment": d.float(&sp.Experiment), "control": d.float(&sp.Control)})
				},
				"unit": d.str(&e.Cohorts.Unit),
				"rules": func(v *yaml.Node, p string) {
					e.Cohorts.Rules = []Rule{}
					d.list(func(v *yaml.Node, p string) {
						e.Cohorts.Rules = append(e.Cohorts.Rules, d.rule(v, p))
					})(v, p)
				},
			})
		},
		"slis": d.list(func(v *yaml.Node, p string) {
			e.SLIs = append(e.SLIs, d.sli(v, p))
		}),
		"stop_conditions": d.list(func(v *yaml.Node, p string) {
			e.StopConditions = append(e.StopConditions, d.stopCondition(v, p))
		}),
		"flows": d.stringList(&e.Flows),
		"expectations": d.list(func(v *yaml.Node, p string) {
			var x Expectation
			d.mapping(v, p, fields{
				"who":     d.str(&x.Who),
				"sli":     d.str(&x.SLI),
				"flow":    d.str(&x.Flow),
				"outcome": d.str((*string)(&x.Outcome)),
				"note":    d.str(&x.Note),
			})
			e.Expectations = append(e.Expectations, x)
		}),
		"expected_alerts": d.list(func(v *yaml.Node, p string) {
			var a ExpectedAlert
			d.mapping(v, p, fields{
				"name":     d.str(&a.Name),
				"within":   d.duration(&a.Within),
				"severity": d.str(&a.Severity),
			})
			e.ExpectedAlerts = append(e.ExpectedAlerts, a)
		}),
	})
	return e
}

func (d *decoder) rule(n *yaml.Node, path string) Rule {
	var r Rule
	d.mapping(n, path, fields{
		"cohort": func(v *yaml.Node, p string) {
			var s string
			d.str(&s)(v, p)
			switch s {
			case "experiment":
				r.Cohort = telemetry.CohortExperiment
			case "control":
				r.Cohort = telemetry.CohortControl
			default:
				if !d.f.bad[p] {
					d.errorf(v, p, "want experiment or control, got %q", s)
				}
			}
		},
		"feature_flag": func(v *yaml.Node, p string) {
			ff := &FeatureFlagMatch{}
			if d.mapping(v, p, fields{
				"key":      d.text(&ff.Key),
				"variant":  d.text(&ff.Variant),
				"provider": d.text(&ff.Provider),
			}) {
				r.FeatureFlag = ff
			}
		},
		"attributes": d.stringMap(&r.Attributes),
		"service":    d.str(&r.Service),
	})
	return r
}

func (d *decoder) sli(n *yaml.Node, path string) SLI {
	var s SLI
	d.mapping(n, path, fields{
		"name": d.str(&s.Name),
		"type": d.str((*string)(&s.Type)),
		"filter": func(v *yaml.Node, p string) {
			d.mapping(v, p, fields{
				"service":    d.str(&s.Filter.Service),
				"operation":  d.str(&s.Filter.Operation),
				"attributes": d.stringMap(&s.Filter.Attributes),
			})
		},
		"quantile": d.float(&s.Quantile),
		"good": func(v *yaml.Node, p string) {
			g := &GoodCriteria{}
			if d.mapping(v, p, fields{
				"status": func(v *yaml.Node, p string) {
					var st string
					d.str(&st)(v, p)
					if st == "ok" {
						g.Status = telemetry.StatusOK
					} else if !d.f.bad[p] {
						d.errorf(v, p, `want "ok", got %q`, st)
					}
				},
				"max_duration": d.duration(&g.MaxDuration),
				"http_status": func(v *yaml.Node, p string) {
					var st string
					d.text(&st)(v, p)
					if d.f.bad[p] {
						return
					}
					set, err := ParseHTTPStatusSet(st)
					if err != nil {
						d.errorf(v, p, "%v", err)
						return
					}
					g.HTTPStatus = set
				},
			}) {
				s.Good = g
			}
		},
		"objective": d.float(&s.Objective),
		"tolerance": func(v *yaml.Node, p string) {
			t := &s.Tolerance
			d.mapping(v, p, fields{
				"absolute": func(v *yaml.Node, p string) {
					if f, isDur, ok := d.quantity(v, p); ok {
						t.Absolute, t.absoluteIsDuration = &f, isDur
					}
				},
				"relative":  d.floatPtr(&t.Relative),
				"direction": d.str((*string)(&t.Direction)),
			})
		},
	})
	return s
}

func (d *decoder) stopCondition(n *yaml.Node, path string) StopCondition {
	var c StopCondition
	threshold := func(op Comparison) func(*yaml.Node, string) {
		return func(v *yaml.Node, p string) {
			if c.Op != "" {
				d.errorf(v, p, "give only one of above and below")
				return
			}
			if f, isDur, ok := d.quantity(v, p); ok {
				c.Op, c.Threshold, c.thresholdIsDuration = op, f, isDur
			}
		}
	}
	d.mapping(n, path, fields{
		"sli":   d.str(&c.SLI),
		"above": threshold(Above),
		"below": threshold(Below),
		"for":   d.duration(&c.For),
	})
	return c
}

func (d *decoder) flow(n *yaml.Node, path string) Flow {
	f := Flow{Pos: d.position(n), src: &source{f: d.f, path: path}}
	d.mapping(n, path, fields{
		"name": d.str(&f.Name),
		"key":  d.str(&f.Key),
		"stages": d.list(func(v *yaml.Node, p string) {
			var st Stage
			if v.Kind == yaml.ScalarNode && !isNull(v) {
				d.str(&st.Name)(v, p)
			} else {
				d.mapping(v, p, fields{
					"name":       d.str(&st.Name),
					"service":    d.str(&st.Service),
					"attributes": d.stringMap(&st.Attributes),
					"deadline":   d.duration(&st.Deadline),
				})
			}
			f.Stages = append(f.Stages, st)
		}),
		"within":      d.duration(&f.Within),
		"severity":    d.str((*string)(&f.Severity)),
		"owner":       d.str(&f.Owner),
		"runbook_url": d.str(&f.RunbookURL),
		"absence": func(v *yaml.Node, p string) {
			a := &Absence{}
			if d.mapping(v, p, fields{
				"period":         d.duration(&a.Period),
				"synthetic_only": d.boolean(&a.SyntheticOnly),
			}) {
				f.Absence = a
			}
		},
		"description": d.str(&f.Description),
	})
	return f
}

// ParseHTTPStatusSet parses a comma-separated list of HTTP status codes
// ("404"), classes ("2xx") and ranges ("200-299").
func ParseHTTPStatusSet(s string) (HTTPStatusSet, error) {
	bad := func() (HTTPStatusSet, error) {
		return nil, fmt.Errorf("invalid HTTP status %q (want codes, classes or ranges like 2xx, 404, 200-299, separated by commas)", s)
	}
	var set HTTPStatusSet
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		var r HTTPStatusRange
		switch {
		case len(part) == 3 && (part[1:] == "xx" || part[1:] == "XX"):
			c := int(part[0] - '0')
			if c < 1 || c > 5 {
				return bad()
			}
			r = HTTPStatusRange{c * 100, c*100 + 99}
		case strings.Contains(part, "-"):
			lo, hi, _ := strings.Cut(part, "-")
			a, err1 := strconv.Atoi(strings.TrimSpace(lo))
			b, err2 := strconv.Atoi(strings.TrimSpace(hi))
			if err1 != nil || err2 != nil || a > b {
				return bad()
			}
			r = HTTPStatusRange{a, b}
		default:
			c, err := strconv.Atoi(part)
			if err != nil {
				return bad()
			}
			r = HTTPStatusRange{c, c}
		}
		if r.Min < 100 || r.Max > 599 {
			return bad()
		}
		set = append(set, r)
	}
	return set, nil
}
