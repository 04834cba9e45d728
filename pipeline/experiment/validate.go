package experiment

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Validate checks the whole spec: every experiment and flow, unique
// experiment ids and flow names, and references between them. It changes
// nothing. Errors are *FieldError values joined with errors.Join, sorted by
// position; for a spec from Load they carry file:line:col.
func (s *Spec) Validate() error {
	c := &checker{}
	s.check(c)
	return c.err()
}

// Validate checks the experiment on its own; references to flows are
// checked by Spec.Validate.
func (e *Experiment) Validate() error {
	c := &checker{}
	e.check(c.root(e.src, ""))
	return c.err()
}

// Validate checks the flow on its own.
func (f *Flow) Validate() error {
	c := &checker{}
	f.check(c.root(f.src, ""))
	return c.err()
}

type checker struct {
	errs []*FieldError
}

func (c *checker) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(c.errs, func(a, b *FieldError) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Column, b.Pos.Column))
	})
	errs := make([]error, len(c.errs))
	for i, e := range c.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// root returns the scope of an experiment or flow: its file-local path and
// positions when it came from a file, else fallback.
func (c *checker) root(src *source, fallback string) *scope {
	if src != nil {
		return &scope{c: c, f: src.f, path: src.path}
	}
	return &scope{c: c, path: fallback}
}

// scope is a field path being checked, with the way back to its parents for
// finding the nearest known position.
type scope struct {
	c      *checker
	f      *fileInfo
	path   string
	parent *scope
}

func (s *scope) field(name string) *scope {
	return &scope{c: s.c, f: s.f, path: joinField(s.path, name), parent: s}
}

func (s *scope) index(i int) *scope {
	return &scope{c: s.c, f: s.f, path: joinIndex(s.path, i), parent: s}
}

func (s *scope) key(k string) *scope {
	return &scope{c: s.c, f: s.f, path: joinKey(s.path, k), parent: s}
}

// pos returns the position of the field or of its nearest known parent.
func (s *scope) pos() Position {
	if s.f == nil {
		return Position{}
	}
	for x := s; x != nil; x = x.parent {
		if p, ok := s.f.pos[x.path]; ok {
			return p
		}
	}
	return Position{File: s.f.name}
}

// quiet reports whether the field, a parent or a child failed to decode:
// that error has been reported already.
func (s *scope) quiet() bool {
	if s.f == nil || len(s.f.bad) == 0 {
		return false
	}
	for x := s; x != nil; x = x.parent {
		if s.f.bad[x.path] {
			return true
		}
	}
	for p := range s.f.bad {
		if strings.HasPrefix(p, s.path) && len(p) > len(s.path) && (p[len(s.path)] == '.' || p[len(s.path)] == '[') {
			return true
		}
	}
	return false
}

func (s *scope) errorf(format string, args ...any) {
	if s.quiet() {
		return
	}
	s.c.errs = append(s.c.errs, &FieldError{Pos: s.pos(), Path: s.path, Msg: fmt.Sprintf(format, args...)})
}

func (s *scope) required(name, value string) {
	if value == "" {
		s.field(name).errorf("required")
	}
}

func (s *scope) id(name, value string) {
	if value == "" {
		s.field(name).errorf("required")
	} else if err := telemetry.ValidateID(value); err != nil {
		s.field(name).errorf("%v", err)
	}
}

// fmtDur formats a duration without trailing zero units: 2m, 1h30m, 90ms.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func (s *Spec) check(c *checker) {
	flowAt := map[string]*scope{}
	for i := range s.Flows {
		f := &s.Flows[i]
		sc := c.root(f.src, joinIndex("flows", i))
		f.check(sc)
		if f.Name == "" {
			continue
		}
		if first, dup := flowAt[f.Name]; dup {
			sc.field("name").errorf("duplicate flow name %q, first defined at %s", f.Name, where(first))
			continue
		}
		flowAt[f.Name] = sc.field("name")
	}
	expAt := map[string]*scope{}
	for i := range s.Experiments {
		e := &s.Experiments[i]
		sc := c.root(e.src, joinIndex("experiments", i))
		e.check(sc)
		for j, name := range e.Flows {
			if _, ok := flowAt[name]; !ok && name != "" {
				sc.field("flows").index(j).errorf("unknown flow %q", name)
			}
		}
		if e.ID == "" {
			continue
		}
		if first, dup := expAt[e.ID]; dup {
			sc.field("id").errorf("duplicate experiment id %q, first defined at %s", e.ID, where(first))
			continue
		}
		expAt[e.ID] = sc.field("id")
	}
}

// where names a field's place for "first defined at" messages.
func where(s *scope) string {
	if p := s.pos(); p.Line > 0 {
		return p.String()
	}
	return s.path
}

func (e *Experiment) check(s *scope) {
	s.id("id", e.ID)
	s.required("title", e.Title)
	s.required("hypothesis", e.Hypothesis)
	s.required("owner", e.Owner)

	if w := e.Window; w != nil {
		ws := s.field("window")
		if w.Start.IsZero() {
			ws.field("start").errorf("required")
		}
		if w.End.IsZero() {
			ws.field("end").errorf("required")
		}
		if !w.Start.IsZero() && !w.End.IsZero() && !w.End.After(w.Start) {
			ws.field("end").errorf("must be after start (%s), got %s",
				w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
		}
	}

	e.checkCohorts(s.field("cohorts"))

	slis := map[string]*SLI{}
	for i := range e.SLIs {
		sli := &e.SLIs[i]
		ss := s.field("slis").index(i)
		sli.check(ss)
		if sli.Name == "" {
			continue
		}
		if _, dup := slis[sli.Name]; dup {
			ss.field("name").errorf("duplicate SLI name %q", sli.Name)
			continue
		}
		slis[sli.Name] = sli
	}

	for i := range e.StopConditions {
		c := &e.StopConditions[i]
		cs := s.field("stop_conditions").index(i)
		var sli *SLI
		if c.SLI == "" {
			cs.field("sli").errorf("required")
		} else if sli = slis[c.SLI]; sli == nil {
			cs.field("sli").errorf("unknown SLI %q", c.SLI)
		}
		ts := cs.field(string(c.Op))
		switch c.Op {
		case Above, Below:
			if sli != nil {
				checkValue(ts, sli.Type, c.Threshold, c.thresholdIsDuration)
			}
		case "":
			cs.errorf("needs above or below")
		default:
			cs.field("op").errorf("want above or below, got %q", c.Op)
		}
		if c.For < 0 {
			cs.field("for").errorf("must be >= 0, got %s", fmtDur(c.For))
		}
	}

	flows := map[string]bool{}
	for i, name := range e.Flows {
		fs := s.field("flows").index(i)
		if name == "" {
			fs.errorf("required")
			continue
		}
		if flows[name] {
			fs.errorf("duplicate flow %q", name)
		}
		flows[name] = true
	}

	for i := range e.Expectations {
		x := &e.Expectations[i]
		xs := s.field("expectations").index(i)
		xs.required("who", x.Who)
		switch {
		case x.SLI != "" && x.Flow != "":
			xs.errorf("give exactly one of sli and flow, got both")
		case x.SLI != "":
			if slis[x.SLI] == nil {
				xs.field("sli").errorf("unknown SLI %q", x.SLI)
			}
			switch x.Outcome {
			case OutcomeUnaffected, OutcomeDegrades, OutcomeFails:
			case "":
				xs.field("outcome").errorf("required")
			default:
				xs.field("outcome").errorf("want unaffected, degrades or fails for an SLI, got %q", x.Outcome)
			}
		case x.Flow != "":
			if !flows[x.Flow] {
				xs.field("flow").errorf("flow %q is not in this experiment's flows", x.Flow)
			}
			switch x.Outcome {
			case OutcomeCompletes, OutcomeStuck:
			case "":
				xs.field("outcome").errorf("required")
			default:
				xs.field("outcome").errorf("want completes or stuck for a flow, got %q", x.Outcome)
			}
		default:
			xs.errorf("give exactly one of sli and flow")
		}
	}

	alerts := map[string]bool{}
	for i := range e.ExpectedAlerts {
		a := &e.ExpectedAlerts[i]
		as := s.field("expected_alerts").index(i)
		switch {
		case a.Name == "":
			as.field("name").errorf("required")
		case strings.TrimSpace(a.Name) != a.Name || strings.ContainsAny(a.Name, "\n\r\t"):
			as.field("name").errorf("must not have surrounding whitespace or control characters, got %q", a.Name)
		case alerts[a.Name]:
			as.field("name").errorf("duplicate alert %q", a.Name)
		}
		alerts[a.Name] = true
		if a.Within < 0 {
			as.field("within").errorf("must be >= 0, got %s", fmtDur(a.Within))
		}
	}

	if len(e.SLIs) == 0 && len(e.Flows) == 0 {
		s.errorf("needs at least one of slis and flows")
	}
}

func (e *Experiment) checkCohorts(s *scope) {
	sp := e.Cohorts.ExpectedSplit
	ss := s.field("expected_split")
	if sp.Experiment == 0 && sp.Control == 0 {
		ss.errorf("required")
	} else {
		ok := true
		for _, f := range []struct {
			name string
			v    float64
		}{{"experiment", sp.Experiment}, {"control", sp.Control}} {
			if f.v <= 0 || f.v >= 1 {
				ss.field(f.name).errorf("must be in (0, 1), got %v", f.v)
				ok = false
			}
		}
		if sum := sp.Experiment + sp.Control; ok && (sum < 1-1e-6 || sum > 1+1e-6) {
			ss.errorf("experiment + control must sum to 1, got %v", sum)
		}
	}
	rs := s.field("rules")
	if e.Cohorts.Rules != nil && len(e.Cohorts.Rules) == 0 {
		rs.errorf("must not be empty (leave rules out if services tag their own cohort)")
	}
	for i := range e.Cohorts.Rules {
		r := &e.Cohorts.Rules[i]
		is := rs.index(i)
		switch r.Cohort {
		case telemetry.CohortExperiment, telemetry.CohortControl:
		case telemetry.CohortNone:
			is.field("cohort").errorf("required")
		default:
			is.field("cohort").errorf("want experiment or control, got %v", r.Cohort)
		}
		if r.FeatureFlag == nil && len(r.Attributes) == 0 {
			is.errorf("needs feature_flag or attributes")
		}
		if ff := r.FeatureFlag; ff != nil {
			fs := is.field("feature_flag")
			fs.required("key", ff.Key)
			fs.required("variant", ff.Variant)
		}
		checkAttrNames(is.field("attributes"), r.Attributes)
	}
}

func checkAttrNames(s *scope, m map[string]string) {
	for k := range m {
		if k == "" {
			s.key(k).errorf("attribute name must not be empty")
		}
	}
}

// checkValue checks a tolerance or threshold in the unit of an SLI type.
func checkValue(s *scope, t SLIType, v float64, isDuration bool) {
	switch {
	case isDuration && t != SLILatency:
		s.errorf("a duration is only valid for latency SLIs, this one is %s", t)
	case v < 0:
		s.errorf("must be >= 0, got %v", v)
	case t.IsRatio() && v > 1:
		s.errorf("must be <= 1 for a %s SLI, got %v", t, v)
	}
}

func (sli *SLI) check(s *scope) {
	s.id("name", sli.Name)
	ts := s.field("type")
	switch {
	case sli.Type == "":
		ts.errorf("required")
	case !sli.Type.Valid():
		ts.errorf("want error_rate, latency, throughput or good_events, got %q", sli.Type)
	}
	checkAttrNames(s.field("filter").field("attributes"), sli.Filter.Attributes)

	qs := s.field("quantile")
	if sli.Type == SLILatency {
		if sli.Quantile == 0 {
			qs.errorf("required for latency SLIs")
		} else if sli.Quantile <= 0 || sli.Quantile >= 1 {
			qs.errorf("must be in (0, 1), got %v", sli.Quantile)
		}
	} else if sli.Quantile != 0 && sli.Type.Valid() {
		qs.errorf("only valid for latency SLIs")
	}

	gs := s.field("good")
	if g := sli.Good; g != nil {
		if sli.Type != SLIGoodEvents && sli.Type.Valid() {
			gs.errorf("only valid for good_events SLIs")
		}
		if g.Status == telemetry.StatusUnset && g.MaxDuration == 0 && len(g.HTTPStatus) == 0 {
			gs.errorf("needs at least one of status, max_duration and http_status")
		}
		if g.Status != telemetry.StatusUnset && g.Status != telemetry.StatusOK {
			gs.field("status").errorf(`want "ok", got %q`, g.Status)
		}
		if g.MaxDuration < 0 {
			gs.field("max_duration").errorf("must be > 0, got %s", fmtDur(g.MaxDuration))
		}
	} else if sli.Type == SLIGoodEvents {
		gs.errorf("required for good_events SLIs")
	}

	if sli.Objective != 0 {
		obs := s.field("objective")
		if sli.Objective <= 0 || sli.Objective >= 1 {
			obs.errorf("must be in (0, 1), got %v", sli.Objective)
		} else if !sli.Type.IsRatio() && sli.Type.Valid() {
			obs.errorf("only valid for error_rate and good_events SLIs")
		}
	}

	tol := &sli.Tolerance
	tols := s.field("tolerance")
	if tol.Absolute == nil && tol.Relative == nil {
		tols.errorf("needs absolute or relative (or both)")
	}
	if tol.Absolute != nil && sli.Type.Valid() {
		checkValue(tols.field("absolute"), sli.Type, *tol.Absolute, tol.absoluteIsDuration)
	}
	if tol.Relative != nil && *tol.Relative < 0 {
		tols.field("relative").errorf("must be >= 0, got %v", *tol.Relative)
	}
	switch tol.Direction {
	case "", LowerIsBetter, HigherIsBetter:
	default:
		tols.field("direction").errorf("want lower_is_better or higher_is_better, got %q", tol.Direction)
	}
}

func (f *Flow) check(s *scope) {
	s.id("name", f.Name)
	switch {
	case f.Key == "":
		s.field("key").errorf("required")
	case strings.ContainsAny(f.Key, " \t\r\n"):
		s.field("key").errorf("must not contain whitespace, got %q", f.Key)
	}
	ws := s.field("within")
	switch {
	case f.Within == 0:
		ws.errorf("required")
	case f.Within < 0:
		ws.errorf("must be > 0, got %s", fmtDur(f.Within))
	}
	if len(f.Stages) == 0 {
		s.field("stages").errorf("needs at least one stage")
	}
	stages := map[string]int{}
	for i := range f.Stages {
		st := &f.Stages[i]
		ss := s.field("stages").index(i)
		if st.Name == "" {
			ss.field("name").errorf("required")
		} else if err := telemetry.ValidateID(st.Name); err != nil {
			ss.field("name").errorf("%v", err)
		} else if first, dup := stages[st.Name]; dup {
			ss.field("name").errorf("duplicate stage %q (also stages[%d])", st.Name, first)
		} else {
			stages[st.Name] = i
		}
		checkAttrNames(ss.field("attributes"), st.Attributes)
		ds := ss.field("deadline")
		switch {
		case st.Deadline < 0:
			ds.errorf("must be > 0, got %s", fmtDur(st.Deadline))
		case f.Within > 0 && st.Deadline > f.Within:
			ds.errorf("%s exceeds the flow's within (%s)", fmtDur(st.Deadline), fmtDur(f.Within))
		}
	}
	switch f.Severity {
	case "", SeverityPage, SeverityTicket, SeverityInfo:
	default:
		s.field("severity").errorf("want page, ticket or info, got %q", f.Severity)
	}
	if f.RunbookURL != "" {
		u, err := url.Parse(f.RunbookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			s.field("runbook_url").errorf("want an absolute http(s) URL, got %q", f.RunbookURL)
		}
	}
	if a := f.Absence; a != nil {
		ps := s.field("absence").field("period")
		switch {
		case a.Period == 0:
			ps.errorf("required")
		case a.Period < 0:
			ps.errorf("must be > 0, got %s", fmtDur(a.Period))
		}
	}
}
