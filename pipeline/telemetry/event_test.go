package telemetry

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sampleEvent() Event {
	return Event{
		ID: "e1", TimeNs: 1_700_000_000_123_456_789, IngestNs: 1_700_000_001_000_000_000, Kind: KindSpan,
		Service: "checkout", Name: "GET /checkout", TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "b7ad6b7169203331",
		Flow: "publish", FlowKey: "p-1", Stage: "publish.received", ExperimentID: "exp-1", Cohort: CohortExperiment,
		Synthetic: true, Status: StatusError, IsError: true, ErrorType: "500", HTTPStatus: 500, DurationNs: 1234,
		SubjectID: "u\"1", Severity: "ERROR", AttrKeys: []string{"a", "ctl\x01"}, AttrValues: []string{"line\nbreak", "bad\xffutf8"},
		ResKeys: []string{}, ResValues: []string{}, Body: "tab\there \\ \u2028",
	}
}

func TestEventJSONRoundTrip(t *testing.T) {
	e := sampleEvent()
	b := e.AppendJSON(nil)
	require.True(t, json.Valid(b), "%s", b)

	var got Event
	require.NoError(t, DecodeJSON(b, &got))
	want := e
	want.AttrValues = []string{"line\nbreak", "bad\ufffdutf8"}
	assert.Equal(t, want, got)

	var generic map[string]any
	require.NoError(t, json.Unmarshal(b, &generic))
	assert.InDelta(t, 1_700_000_000, generic["event_time"], 0)
	assert.InDelta(t, 1, generic["synthetic"], 0)
	assert.Equal(t, "experiment", generic["cohort"])
	assert.Len(t, generic, len(Columns)-2, "wire keys are the table columns minus kafka_partition/offset")
}

// The wire's seconds are the nanoseconds floored to whole seconds, at
// every magnitude and on both sides of the epoch.
func TestWireTimesAreFlooredSeconds(t *testing.T) {
	times := []int64{0, 1, 999_999_999, 1e9, 1e9 + 1, 1_999_999_999, 10e9, 1_700_000_000_123_456_789, math.MaxInt64,
		-1, -1e9, -1e9 - 1, math.MinInt64}
	for range 1000 {
		times = append(times, rand.Int64N(1<<62)>>rand.IntN(62), -rand.Int64N(1<<62)>>rand.IntN(62))
	}
	for _, ns := range times {
		e := Event{ID: "e", TimeNs: ns, IngestNs: ns / 3}
		dec := json.NewDecoder(strings.NewReader(string(e.AppendJSON(nil))))
		dec.UseNumber()
		var generic map[string]any
		require.NoError(t, dec.Decode(&generic))
		for _, tc := range []struct {
			key, nsKey string
			ns         int64
		}{{"event_time", "event_time_ns", ns}, {"ingest_time", "ingest_time_ns", ns / 3}} {
			secs := tc.ns / 1e9
			if tc.ns%1e9 < 0 {
				secs--
			}
			assert.Equal(t, json.Number(strconv.FormatInt(secs, 10)), generic[tc.key], "%s of %d", tc.key, tc.ns)
			assert.Equal(t, json.Number(strconv.FormatInt(tc.ns, 10)), generic[tc.nsKey], "%s of %d", tc.nsKey, tc.ns)
		}
	}
}

func TestDecodeJSONRejects(t *testing.T) {
	tests := []struct{ name, in, err string }{
		{"unknown key", `{"event_id":"a","nope":1}`, `unknown field "nope"`},
		{"wrong type", `{"event_id":"a","duration_ns":"x"}`, `field "duration_ns": want an integer`},
		{"fraction", `{"event_id":"a","http_status":200.5}`, "got a fraction"},
		{"out of range", `{"event_id":"a","http_status":70000}`, "value out of range"},
		{"array of numbers", `{"event_id":"a","attr_keys":[1]}`, "want an array of strings"},
		{"unterminated", `{"event_id":"a`, "unterminated string"},
		{"bad escape", `{"event_id":"a\q"}`, "bad escape"},
		{"bad cohort", `{"event_id":"a","cohort":"treatment"}`, `cohort "treatment"`},
		{"bad kind", `{"event_id":"a","kind":"metric"}`, `kind "metric"`},
		{"no id", `{"service":"a"}`, "event_id is empty"},
		{"trailing", `{"event_id":"a"} {}`, "trailing data"},
		{"flag range", `{"event_id":"a","is_error":2}`, "must be 0 or 1"},
		{"uneven attrs", `{"event_id":"a","attr_keys":["k"],"attr_values":[]}`, "differ in length"},
		{"not json", `garbage`, "invalid JSON at byte 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Event
			assert.ErrorContains(t, DecodeJSON([]byte(tt.in), &e), tt.err)
		})
	}
}

func TestValuesMatchColumns(t *testing.T) {
	e := sampleEvent()
	v := e.Values(nil, 3, 42)
	require.Len(t, v, len(Columns))
	assert.Equal(t, int32(3), v[len(v)-2])
	assert.Equal(t, int64(42), v[len(v)-1])
}

func TestValidateID(t *testing.T) {
	for _, ok := range []string{"a", "checkout-payment-500", "exp_1.v2:b"} {
		require.NoError(t, ValidateID(ok), ok)
	}
	for _, bad := range []string{"", "-a", "a b", "a'b", "a\x00", "a\r\nb", string(make([]byte, 10_000))} {
		assert.Error(t, ValidateID(bad), "%q", bad)
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	e := sampleEvent()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = e.AppendJSON(buf[:0])
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	e := sampleEvent()
	buf := e.AppendJSON(nil)
	b.ReportAllocs()
	var out Event
	for b.Loop() {
		if err := DecodeJSON(buf, &out); err != nil {
			b.Fatal(err)
		}
	}
}

// The hand-written decoder reads back whatever AppendJSON writes, for any
// string content (escapes, control bytes, invalid UTF-8, surrogates).
func FuzzWireRoundTrip(f *testing.F) {
	f.Add("svc", "a\"b\\c\n\u2028", "\xff\xfe", int64(1_700_000_000_000_000_000))
	f.Add("", "", "\U0001F600", int64(-5))
	f.Fuzz(func(t *testing.T, a, b, c string, ts int64) {
		e := Event{ID: "id" + a, TimeNs: ts, Service: a, Name: b, Body: c, AttrKeys: []string{a, b}, AttrValues: []string{c, ""},
			Kind: KindLog, Cohort: CohortControl, Status: StatusOK, HTTPStatus: 503, IsError: true}
		data := e.AppendJSON(nil)
		var ref map[string]any
		require.NoError(t, json.Unmarshal(data, &ref), "wire form is valid JSON")
		var got Event
		require.NoError(t, DecodeJSON(data, &got))
		assert.Equal(t, ref["name"], got.Name, "decoder agrees with encoding/json")
		assert.Equal(t, ref["body"], got.Body)
		assert.Equal(t, ref["service"], got.Service)
		assert.Equal(t, e.TimeNs, got.TimeNs)
	})
}

// appendStringByByte is appendString as it was before it skipped eight
// plain bytes at a time: the reference for TestAppendStringMatchesByteLoop.
func appendStringByByte(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Every byte value at every offset of strings of every length up to three
// words (the 8-byte steps and the tail read as the last eight bytes), and
// random strings, encode exactly as the byte-by-byte loop encodes them.
func TestAppendStringMatchesByteLoop(t *testing.T) {
	for n := 1; n <= 24; n++ {
		for c := 0; c < 256; c++ {
			for pos := 0; pos < n; pos++ {
				b := []byte(strings.Repeat("a", n))
				b[pos] = byte(c)
				s := string(b)
				require.Equal(t, string(appendStringByByte(nil, s)), string(appendString(nil, s)), "byte %#x at %d of %d", c, pos, n)
			}
		}
	}
	r := rand.New(rand.NewPCG(8, 8))
	parts := []string{"a", "plain text", "0123456789", `"`, `\`, "\x00", "\x1f", " ", "\x7f", "\x80", "é", "\u2028", "😀", "\xff", "\xe2\x82", "!", "~", "!\"#"}
	for range 100_000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		s := b.String()
		require.Equal(t, string(appendStringByByte(nil, s)), string(appendString(nil, s)), "%q", s)
	}
}
