package tag

import (
	"strconv"
	"strings"
)

// RecordError is why one record (span, log record or JSON event) was
// rejected. The other records of the same request are not affected.
type RecordError struct {
	// Index is the 1-based position of the record: the line for NDJSON and
	// multi-line JSON bodies, the element for a JSON array, and the ordinal
	// of the span or log record in an OTLP request.
	Index int
	// Path names the record: "line 3", "record 2" (JSON array element) or
	// "resource_spans[0].scope_spans[1].spans[2]" (0-based, as in OTLP/JSON).
	Path string
	// Field is the JSON field or attribute key at fault; "" when the record
	// as a whole is bad (invalid JSON, too large).
	Field string
	// Msg says what is wrong; bad values are quoted and truncated.
	Msg string
}

// Error returns `path: field "name": message`, e.g.
// `line 3: field "duration_ms": want a number, got string`.
func (e *RecordError) Error() string {
	var b strings.Builder
	b.Grow(len(e.Path) + len(e.Field) + len(e.Msg) + 16)
	if e.Path != "" {
		b.WriteString(e.Path)
	} else {
		b.WriteString("record ")
		b.WriteString(strconv.Itoa(e.Index))
	}
	if e.Field != "" {
		b.WriteString(": field ")
		b.WriteString(strconv.Quote(e.Field))
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// maxListedErrors bounds the record errors spelled out by RejectError.Error.
const maxListedErrors = 20

// RejectError is returned, next to the events that were accepted, when some
// records of a request were rejected: the receiver answers with partial
// success (OTLP) or 400 with the list (JSON). Get at it with errors.As; its
// Unwrap exposes every *RecordError.
type RejectError struct {
	// Rejected is the number of rejected records (len(Errors)).
	Rejected int
	// Errors has one entry per rejected record, in request order.
	Errors []RecordError
}

// Error lists the first 20 record errors and counts the rest.
func (e *RejectError) Error() string {
	var b strings.Builder
	b.WriteString("tag: ")
	b.WriteString(strconv.Itoa(e.Rejected))
	if e.Rejected == 1 {
		b.WriteString(" record rejected")
	} else {
		b.WriteString(" records rejected")
	}
	for i := range e.Errors {
		if i == maxListedErrors {
			b.WriteString("; and ")
			b.WriteString(strconv.Itoa(len(e.Errors) - i))
			b.WriteString(" more")
			break
		}
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(e.Errors[i].Error())
	}
	return b.String()
}

// Unwrap returns every record error as a *RecordError.
func (e *RejectError) Unwrap() []error {
	errs := make([]error, len(e.Errors))
	for i := range e.Errors {
		errs[i] = &e.Errors[i]
	}
	return errs
}

// quoteTrunc quotes s for a message, cut to 40 bytes.
func quoteTrunc(s string) string {
	if len(s) > 40 {
		return strconv.Quote(s[:40]) + "..."
	}
	return strconv.Quote(s)
}
