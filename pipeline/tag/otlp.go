package tag

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// Attribute keys read besides the telemetry vocabulary.
const (
	attrUserID        = "user.id"
	attrExceptionType = "exception.type"
	exceptionEvent    = "exception"
)

// Traces converts every span of td into an event. Spans that cannot be
// tagged (bad experiment id or cohort, bad flow attributes, empty trace or
// span id, too large) are left out and listed in a *RejectError returned
// next to the events that were accepted; any other error is impossible.
//
// Events of the same resource share the backing arrays of ResKeys and
// ResValues: treat them as read-only.
func (t *Tagger) Traces(td ptrace.Traces) ([]telemetry.Event, error) {
	s := t.getState(td.SpanCount())
	ord := 0
	rss := td.ResourceSpans()
	for ri := 0; ri < rss.Len(); ri++ {
		rs := rss.At(ri)
		s.setResource(rs.Resource().Attributes(), false)
		sss := rs.ScopeSpans()
		for si := 0; si < sss.Len(); si++ {
			spans := sss.At(si).Spans()
			for pi := 0; pi < spans.Len(); pi++ {
				ord++
				if re := s.span(s.next(), spans.At(pi)); re != nil {
					re.Index = ord
					re.Path = fmt.Sprintf("resource_spans[%d].scope_spans[%d].spans[%d]", ri, si, pi)
					s.drop(re)
				}
			}
		}
	}
	return t.finish(s)
}

// Logs converts every log record of ld into an event, as Traces does for
// spans.
func (t *Tagger) Logs(ld plog.Logs) ([]telemetry.Event, error) {
	s := t.getState(ld.LogRecordCount())
	ord := 0
	rls := ld.ResourceLogs()
	for ri := 0; ri < rls.Len(); ri++ {
		rl := rls.At(ri)
		s.setResource(rl.Resource().Attributes(), true)
		sls := rl.ScopeLogs()
		for si := 0; si < sls.Len(); si++ {
			sl := sls.At(si)
			sc := s.scopeCanon[:0]
			sc = appendStr(sc, sl.Scope().Name())
			sc = appendStr(sc, sl.Scope().Version())
			s.scopeCanon = sc
			lrs := sl.LogRecords()
			for li := 0; li < lrs.Len(); li++ {
				ord++
				if re := s.log(s.next(), lrs.At(li)); re != nil {
					re.Index = ord
					re.Path = fmt.Sprintf("resource_logs[%d].scope_logs[%d].log_records[%d]", ri, si, li)
					s.drop(re)
				}
			}
		}
	}
	return t.finish(s)
}

// flatten returns m's keys and values as text, in m's order. types, if not
// nil, receives the value types.
func flatten(m pcommon.Map, types *[]byte) (keys, vals []string) {
	return flattenInto(nil, m, types)
}

// flattenRec is flatten for a record's or event's attributes: the slices
// come from the request's arena (s.strSlots) and integer values are
// written into its byte arena, instead of allocations per record.
func (s *state) flattenRec(m pcommon.Map, types *[]byte) (keys, vals []string) {
	return flattenInto(s, m, types)
}

func flattenInto(s *state, m pcommon.Map, types *[]byte) (keys, vals []string) {
	n := m.Len()
	if n == 0 {
		if types != nil {
			*types = (*types)[:0]
		}
		return nil, nil
	}
	var buf []string
	if s != nil {
		buf = s.strSlots(2 * n)
	} else {
		buf = make([]string, 2*n)
	}
	keys, vals = buf[:n:n], buf[n:2*n:2*n]
	var ts []byte
	if types != nil {
		ts = (*types)[:0]
	}
	i := 0
	for k, v := range m.All() {
		if i == n {
			break
		}
		keys[i] = k
		if s != nil && v.Type() == pcommon.ValueTypeInt {
			s.num = strconv.AppendInt(s.num[:0], v.Int(), 10)
			vals[i] = s.keep(s.num)
		} else {
			vals[i] = v.AsString()
		}
		if types != nil {
			ts = append(ts, byte(v.Type()))
		}
		i++
	}
	if types != nil {
		*types = ts
	}
	return keys[:i:i], vals[:i:i]
}

// setResource flattens the resource attributes once for all its records.
func (s *state) setResource(m pcommon.Map, canon bool) {
	var types *[]byte
	if canon {
		types = &s.resTypes
	}
	keys, full := flatten(m, types)
	s.res = attrList{keys: keys, vals: full}
	s.resKeys, s.resVals = keys, full
	copied := false
	for i, v := range full {
		if len(v) > s.t.maxAttr {
			if !copied {
				s.resVals, copied = append([]string(nil), full...), true
			}
			s.resVals[i] = s.t.truncate(v)
		}
	}
	s.service, _ = s.res.get(telemetry.AttrServiceName)
	if canon {
		s.resCanon = s.appendSortedAttrs(s.resCanon[:0], keys, full, s.resTypes)
	}
}

// common fills what spans and logs share, once the record's own attributes
// are in s.rec: service, subject, HTTP status, synthetic flag, experiment,
// cohort and flow. It then stores the (truncated) attributes on e.
func (s *state) common(e *telemetry.Event) *RecordError {
	e.IngestNs = s.ingestNs
	e.Service = s.service
	if e.Service == "" {
		e.Service, _ = s.rec.get(telemetry.AttrServiceName)
	}
	if v, ok := s.lay.Get(telemetry.AttrSubjectID); ok {
		e.SubjectID = v
	} else {
		e.SubjectID, _ = s.lay.Get(attrUserID)
	}
	if e.SubjectID == "" {
		e.SubjectID = s.evalSubject()
	}
	e.HTTPStatus = httpStatus(&s.rec)
	if c := s.otlpCand(telemetry.AttrSynthetic); c.ok {
		e.Synthetic = isTrue(c.val)
	}
	if re := s.tagExperiment(e, s.otlpCand(telemetry.AttrExperimentID), s.otlpCand(telemetry.AttrCohort), &otlpNames, &s.lay); re != nil {
		return re
	}
	if re := s.tagFlow(e, s.otlpCand(telemetry.AttrFlow), s.otlpCand(telemetry.AttrFlowKey),
		s.otlpCand(telemetry.AttrFlowStage), &otlpNames, &s.lay); re != nil {
		return re
	}
	if len(s.evals) > 0 {
		s.keepEvals()
	}
	s.t.truncateAll(s.rec.vals)
	e.AttrKeys, e.AttrValues = s.rec.keys, s.rec.vals
	e.ResKeys, e.ResValues = s.resKeys, s.resVals
	return s.checkSize(e)
}

// httpStatus reads http.response.status_code, else http.status_code; values
// that are not a code in 1..999 are ignored.
func httpStatus(a *attrList) uint16 {
	v, ok := a.get(telemetry.AttrHTTPStatusCode)
	if !ok {
		if v, ok = a.get(telemetry.AttrHTTPStatusCodeOld); !ok {
			return 0
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 || n > 999 {
		return 0
	}
	return uint16(n)
}

func (s *state) span(e *telemetry.Event, sp ptrace.Span) *RecordError {
	tid, sid, pid := sp.TraceID(), sp.SpanID(), sp.ParentSpanID()
	if tid.IsEmpty() {
		return &RecordError{Field: "trace_id", Msg: "span has an empty (all zero) trace id"}
	}
	if sid.IsEmpty() {
		return &RecordError{Field: "span_id", Msg: "span has an empty (all zero) span id"}
	}
	// One allocation for the id, trace id, span id and parent span id.
	var buf [64]byte
	hex.Encode(buf[:32], tid[:])
	hex.Encode(buf[32:48], sid[:])
	n := 48
	if !pid.IsEmpty() {
		hex.Encode(buf[48:], pid[:])
		n = 64
	}
	ids := s.keep(buf[:n])
	e.ID, e.TraceID, e.SpanID = ids[:48], ids[:32], ids[32:48]
	if n == 64 {
		e.ParentSpanID = ids[48:]
	}
	e.Kind = telemetry.KindSpan
	e.Name = sp.Name()
	start, end := int64(sp.StartTimestamp()), int64(sp.EndTimestamp())
	if start > 0 {
		e.TimeNs = start
		if end > start {
			e.DurationNs = uint64(end - start)
		}
	} else {
		e.TimeNs = s.ingestNs
	}
	switch sp.Status().Code() {
	case ptrace.StatusCodeOk:
		e.Status = telemetry.StatusOK
	case ptrace.StatusCodeError:
		e.Status = telemetry.StatusError
	}
	keys, vals := s.flattenRec(sp.Attributes(), nil)
	s.rec = attrList{keys: keys, vals: vals}
	s.readEvals(sp.Events())
	if v, ok := s.rec.get(telemetry.AttrErrorType); ok {
		e.ErrorType = v
	} else {
		evs := sp.Events()
		for i := 0; i < evs.Len(); i++ {
			ev := evs.At(i)
			if ev.Name() != exceptionEvent {
				continue
			}
			if v, ok := ev.Attributes().Get(attrExceptionType); ok {
				e.ErrorType = v.AsString()
				break
			}
		}
	}
	if re := s.common(e); re != nil {
		return re
	}
	e.IsError = e.Status == telemetry.StatusError || e.HTTPStatus >= 500
	return nil
}

func (s *state) log(e *telemetry.Event, lr plog.LogRecord) *RecordError {
	e.Kind = telemetry.KindLog
	ts, obs := int64(lr.Timestamp()), int64(lr.ObservedTimestamp())
	switch {
	case ts > 0:
		e.TimeNs = ts
	case obs > 0:
		e.TimeNs = obs
	default:
		e.TimeNs = s.ingestNs
	}
	keys, vals := s.flattenRec(lr.Attributes(), &s.types)
	s.rec = attrList{keys: keys, vals: vals}
	s.resetEvals()
	sevNum, sevText := lr.SeverityNumber(), lr.SeverityText()
	e.Severity = sevText
	if e.Severity == "" {
		e.Severity = severityName(sevNum)
	}
	if v, ok := s.rec.get(telemetry.AttrEventName); ok && v != "" {
		e.Name = v
	} else if v := lr.EventName(); v != "" {
		e.Name = v
	} else {
		e.Name = e.Severity
	}
	body := lr.Body()
	e.Body = body.AsString()
	errType, hasErrType := s.rec.get(telemetry.AttrErrorType)
	if hasErrType {
		e.ErrorType = errType
	} else {
		e.ErrorType, _ = s.rec.get(attrExceptionType)
	}
	e.IsError = sevNum >= plog.SeverityNumberError || hasErrType ||
		(sevNum == plog.SeverityNumberUnspecified && isErrorText(sevText))

	// Id: SHA-256 over the canonical encoding of resource, scope and record
	// (full attribute values, sorted), cut to 128 bits; trace and span id
	// share the allocation.
	tid, sid := lr.TraceID(), lr.SpanID()
	c := s.canon[:0]
	c = appendU64(c, uint64(ts))
	c = appendU64(c, uint64(obs))
	c = appendU64(c, uint64(uint32(sevNum)))
	c = appendStr(c, sevText)
	c = appendStr(c, lr.EventName())
	c = append(c, byte(body.Type()))
	c = appendStr(c, e.Body)
	c = s.appendSortedAttrs(c, keys, vals, s.types)
	c = append(c, tid[:]...)
	c = append(c, sid[:]...)
	c = appendU64(c, uint64(lr.Flags()))
	s.canon = c
	s.h.Reset()
	s.h.Write(s.resCanon)
	s.h.Write(s.scopeCanon)
	s.h.Write(c)
	var buf [80]byte
	hex.Encode(buf[:32], s.digest())
	n := 32
	if !tid.IsEmpty() {
		hex.Encode(buf[n:n+32], tid[:])
		n += 32
	}
	if !sid.IsEmpty() {
		hex.Encode(buf[n:n+16], sid[:])
		n += 16
	}
	ids := s.keep(buf[:n])
	e.ID = ids[:32]
	n = 32
	if !tid.IsEmpty() {
		e.TraceID = ids[n : n+32]
		n += 32
	}
	if !sid.IsEmpty() {
		e.SpanID = ids[n : n+16]
	}
	return s.common(e)
}

// severityName names a severity number's range.
func severityName(n plog.SeverityNumber) string {
	switch {
	case n <= 0:
		return ""
	case n <= 4:
		return "TRACE"
	case n <= 8:
		return "DEBUG"
	case n <= 12:
		return "INFO"
	case n <= 16:
		return "WARN"
	case n <= 20:
		return "ERROR"
	default:
		return "FATAL"
	}
}

// isErrorText reports whether a severity text without a number is an error.
func isErrorText(s string) bool {
	for _, w := range [...]string{"ERROR", "ERR", "FATAL", "CRITICAL", "CRIT", "ALERT", "EMERGENCY", "PANIC"} {
		if strings.EqualFold(s, w) {
			return true
		}
	}
	return false
}
