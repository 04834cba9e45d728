package sink

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// diffRows says how two batches' rows differ, "" when they hold the same
// rows (capacities aside).
func diffRows(a, b *rows) string {
	for f := range a.strs {
		if !slices.Equal(a.strs[f], b.strs[f]) {
			return fmt.Sprintf("strs[%d]: %v vs %v", f, a.strs[f], b.strs[f])
		}
		if !slices.Equal(a.bufs[f], b.bufs[f]) {
			return fmt.Sprintf("bufs[%d]: %q vs %q", f, a.bufs[f], b.bufs[f])
		}
	}
	for i := range a.flat {
		if !slices.Equal(a.flat[i], b.flat[i]) || !slices.Equal(a.ends[i], b.ends[i]) || !slices.Equal(a.flatBuf[i], b.flatBuf[i]) {
			return fmt.Sprintf("array %d: %v %v vs %v %v", i, a.flat[i], a.ends[i], b.flat[i], b.ends[i])
		}
	}
	for i := range a.ns {
		if !slices.Equal(a.ns[i], b.ns[i]) || !slices.Equal(a.u8[i], b.u8[i]) {
			return fmt.Sprintf("ns/u8 %d: %v %v vs %v %v", i, a.ns[i], a.u8[i], b.ns[i], b.u8[i])
		}
	}
	for i := range a.enums {
		if !slices.Equal(a.enums[i], b.enums[i]) {
			return fmt.Sprintf("enums[%d]: %v vs %v", i, a.enums[i], b.enums[i])
		}
	}
	switch {
	case !slices.Equal(a.dur, b.dur):
		return fmt.Sprintf("dur: %v vs %v", a.dur, b.dur)
	case !slices.Equal(a.http, b.http):
		return fmt.Sprintf("http: %v vs %v", a.http, b.http)
	case !slices.Equal(a.parts, b.parts) || !slices.Equal(a.offsets, b.offsets):
		return "kafka position differs"
	case !slices.Equal(a.values, b.values):
		return "values differ"
	}
	return ""
}

// wireDiff decodes the records one after another into two batches, with
// the general decoder alone and with decodeInto (fast path first), and
// fails at the first record where the errors or the rows differ. It
// returns how many records the fast path took.
func wireDiff(t *testing.T, records [][]byte) (fast int) {
	t.Helper()
	s := &Sink{cfg: NewDefaultConfig(), m: newMetrics(nil), seen: newRecentIDs(1 << 10)}
	ref, got := newBatch(), newBatch()
	var probe rows
	for i, rec := range records {
		msg := &kgo.Record{Partition: int32(i % 3), Offset: int64(i), Value: rec}
		value := unsafe.String(unsafe.SliceData(rec), len(rec))
		var refErr error
		if len(rec) > s.cfg.MaxEventBytes {
			refErr = s.decodeInto(ref, msg) // the size check comes before either decoder
		} else {
			refErr = s.decodeGeneral(ref, msg, value)
		}
		gotErr := s.decodeInto(got, msg)
		if (refErr == nil) != (gotErr == nil) || (refErr != nil && refErr.Error() != gotErr.Error()) {
			t.Fatalf("record %d %q: general decoder %v, sink %v", i, rec, refErr, gotErr)
		}
		if d := diffRows(&ref.rows, &got.rows); d != "" {
			t.Fatalf("record %d %q: rows differ after it: %s", i, rec, d)
		}
		if probe.addWire(value, 0, 0) {
			fast++
		}
		if i%500 == 499 {
			ref.reset()
			got.reset()
			probe.reset()
		}
	}
	return fast
}

// randText is a string with what the wire form must escape or keep:
// quotes, backslashes, control bytes, non-ASCII, invalid UTF-8.
func randText(r *rand.Rand) string {
	parts := []string{"", "a", "checkout", "GET /x", `"`, `\`, "\n", "\t", "\x01", "\x7f", "é", "\u2028", "😀", "\xff", "\xe2\x82", "/"}
	var b strings.Builder
	for range r.IntN(6) {
		b.WriteString(parts[r.IntN(len(parts))])
	}
	return b.String()
}

func randEvent(r *rand.Rand, i int) telemetry.Event {
	arr := func() []string {
		out := make([]string, r.IntN(4))
		for j := range out {
			out[j] = randText(r)
		}
		return out
	}
	e := telemetry.Event{
		ID: fmt.Sprintf("id-%d", i) + randText(r), TimeNs: 1_700_000_000_000_000_000 + r.Int64N(1e18), IngestNs: r.Int64N(1 << 62),
		Kind: telemetry.Kind(1 + r.IntN(4)), Service: randText(r), Name: randText(r), TraceID: fmt.Sprintf("%032x", r.Uint64()),
		SpanID: randText(r), ParentSpanID: randText(r), Flow: randText(r), FlowKey: randText(r), Stage: randText(r),
		ExperimentID: randText(r), Cohort: telemetry.Cohort(r.IntN(3)), Synthetic: r.IntN(2) == 1, Status: telemetry.Status(r.IntN(3)),
		IsError: r.IntN(2) == 1, ErrorType: randText(r), HTTPStatus: uint16(r.IntN(70000)), DurationNs: r.Uint64(),
		SubjectID: randText(r), Severity: randText(r), Body: randText(r),
	}
	e.AttrKeys, e.ResKeys = arr(), arr()
	e.AttrValues, e.ResValues = make([]string, len(e.AttrKeys)), make([]string, len(e.ResKeys))
	for j := range e.AttrValues {
		e.AttrValues[j] = randText(r)
	}
	for j := range e.ResValues {
		e.ResValues[j] = randText(r)
	}
	return e
}

// mutate changes a record the way broken producers and bit rot do: bytes
// replaced, inserted, dropped or repeated, the end cut off.
func mutate(r *rand.Rand, rec []byte) []byte {
	const alphabet = "\"\\{}[],:0123456789-+.eE nul\x00\xff\x80\t\nu"
	out := slices.Clone(rec)
	for range 1 + r.IntN(3) {
		if len(out) == 0 {
			return out
		}
		p := r.IntN(len(out))
		switch r.IntN(6) {
		case 0:
			out[p] = alphabet[r.IntN(len(alphabet))]
		case 1:
			out = slices.Insert(out, p, alphabet[r.IntN(len(alphabet))])
		case 2:
			out = slices.Delete(out, p, min(len(out), p+1+r.IntN(4)))
		case 3:
			out = out[:p]
		case 4:
			q := min(len(out), p+1+r.IntN(20))
			out = slices.Insert(out, q, out[p:q]...)
		case 5:
			// A number edited into another (sign, digits, length).
			for _, tok := range []string{"1", "0", "-1", "99999999999999999999", "9223372036854775807", "-9223372036854775808", "1.0", "1e3", "null", "007", "2", "256", "65536"} {
				if r.IntN(8) == 0 {
					out = slices.Insert(out, p, []byte(tok)...)
					break
				}
			}
		}
	}
	return out
}

// The fast decoder accepts exactly what the general decoder accepts, with
// the same rows, and leaves every refusal (and its error text) to it: on
// 30,000 mutated records and the edge cases below.
func TestWireDecoderMatchesGeneral(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 1))
	base := telemetry.Event{
		ID: "e1", TimeNs: 1_700_000_000_123_456_789, IngestNs: 1_700_000_001_000_000_000, Kind: telemetry.KindSpan,
		Service: "checkout", Name: "GET /checkout", HTTPStatus: 200, DurationNs: 5, AttrKeys: []string{"a"}, AttrValues: []string{"b"},
	}
	wire := string(base.AppendJSON(nil))
	edit := func(old, new string) []byte {
		require.Contains(t, wire, old)
		return []byte(strings.Replace(wire, old, new, 1))
	}
	records := [][]byte{
		[]byte(wire),
		[]byte(" " + wire), []byte(wire + " "), []byte(wire + "\x00"), []byte(wire + "{}"),
		edit(`"service":"checkout"`, `"service": "checkout"`), edit(`"service":"checkout"`, `"service":null`),
		edit(`"service":"checkout"`, `"service":"check\u006fut"`), edit(`"service":"checkout"`, `"service":"\ud83d\ude00"`),
		edit(`"service":"checkout"`, `"service":"\ud83d"`), edit(`"service":"checkout"`, `"service":"\uDE00x"`),
		edit(`"service":"checkout"`, `"service":"a\/b\b\f\n\r\t\"\\"`), edit(`"service":"checkout"`, `"service":"\u00e9\u0000"`),
		edit(`"service":"checkout"`, `"service":"\x"`), edit(`"service":"checkout"`, `"service":"\u12"`),
		edit(`"service":"checkout"`, "\"service\":\"\xff\""), edit(`"service":"checkout"`, "\"service\":\"\\u00e9\xc3\""),
		edit(`"service":"checkout"`, "\"service\":\"a\x01\""),
		edit(`"kind":"span"`, `"kind":"sp\u0061n"`), edit(`"kind":"span"`, `"kind":"metric"`), edit(`"kind":"span"`, `"kind":""`),
		edit(`"cohort":"none"`, `"cohort":""`), edit(`"cohort":"none"`, `"cohort":"control"`), edit(`"cohort":"none"`, `"cohort":"x"`),
		edit(`"status":"unset"`, `"status":"error"`), edit(`"status":"unset"`, `"status":"bad"`),
		edit(`"synthetic":0`, `"synthetic":1`), edit(`"synthetic":0`, `"synthetic":2`), edit(`"synthetic":0`, `"synthetic":01`),
		edit(`"synthetic":0`, `"synthetic":256`), edit(`"synthetic":0`, `"synthetic":-0`), edit(`"is_error":0`, `"is_error":1`),
		edit(`"http_status":200`, `"http_status":65535`), edit(`"http_status":200`, `"http_status":65536`), edit(`"http_status":200`, `"http_status":200.0`),
		edit(`"duration_ns":5`, `"duration_ns":18446744073709551615`), edit(`"duration_ns":5`, `"duration_ns":18446744073709551616`),
		edit(`"duration_ns":5`, `"duration_ns":9999999999999999999`), edit(`"duration_ns":5`, `"duration_ns":-5`), edit(`"duration_ns":5`, `"duration_ns":5e2`),
		edit(`"event_time":1700000000`, `"event_time":-9223372036854775808`), edit(`"event_time":1700000000`, `"event_time":9223372036854775808`),
		edit(`"event_time":1700000000`, `"event_time":"x"`), edit(`"event_time":1700000000`, `"event_time":-`),
		edit(`"event_time_ns":1700000000123456789`, `"event_time_ns":0`), edit(`"event_time_ns":1700000000123456789`, `"event_time_ns":9223372036854775807`),
		edit(`"event_time_ns":1700000000123456789`, `"event_time_ns":4291747199999999999`),
		edit(`"ingest_time_ns":1700000001000000000`, `"ingest_time_ns":-1`), edit(`"ingest_time_ns":1700000001000000000`, `"ingest_time_ns":-0`),
		edit(`"event_id":"e1"`, `"event_id":""`), edit(`"event_id":"e1"`, `"event_id":"\u0065"`),
		edit(`"attr_keys":["a"]`, `"attr_keys":[]`), edit(`"attr_keys":["a"]`, `"attr_keys":null`), edit(`"attr_keys":["a"]`, `"attr_keys":["a",]`),
		edit(`"attr_keys":["a"]`, `"attr_keys":[1]`), edit(`"attr_keys":["a"],"attr_values":["b"]`, `"attr_keys":["a","c"],"attr_values":["b","d"]`),
		edit(`"res_keys":[]`, `"res_keys":[""]`), edit(`"res_keys":[],"res_values":[]`, `"res_keys":[""],"res_values":["\n"]`),
		edit(`,"body":""`, ``), edit(`"service":"checkout",`, ``), edit(`"service":"checkout","name":"GET /checkout"`, `"name":"GET /checkout","service":"checkout"`),
		edit(`"service":"checkout"`, `"service":"a","service":"b"`), edit(`"body":""`, `"body":"","kafka_offset":1`),
		[]byte(strings.Repeat("x", NewDefaultConfig().MaxEventBytes+1)), {}, []byte("{}"), []byte("null"),
	}
	for i := range 3000 {
		e := randEvent(r, i)
		rec := e.AppendJSON(nil)
		records = append(records, rec)
		for range 9 {
			records = append(records, mutate(r, rec))
		}
	}
	fast := wireDiff(t, records)
	// The fast path must carry the ordinary records, not leave them all
	// to the general decoder.
	require.Greater(t, fast, 3000, "records the fast path took")
	t.Logf("%d of %d records through the fast path", fast, len(records))
}

func FuzzWireDecoder(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		e := randEvent(r, i)
		f.Add(e.AppendJSON(nil))
	}
	f.Fuzz(func(t *testing.T, rec []byte) {
		wireDiff(t, [][]byte{rec, rec})
	})
}

// The digit scan (eight at a time, then one by one) reads what strconv
// reads, for every length up to 24 digits and any byte after them, and
// refuses what overflows uint64.
func TestWireDigitsMatchStrconv(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	tails := []string{"", ",", "}", "x", "/", ":", "\x00", ".5", "e1"}
	for n := 1; n <= 24; n++ {
		for range 300 {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte('0' + r.IntN(10))
			}
			if r.IntN(4) == 0 {
				for i := range b {
					b[i] = '9'
				}
			}
			num := string(b)
			for _, tail := range tails {
				w := wireScan{data: num + tail}
				got, ok := w.digits()
				want, err := strconv.ParseUint(num, 10, 64)
				if ok != (err == nil) || (ok && (got != want || w.pos != n)) {
					t.Fatalf("digits(%q) = %d, %v at %d; strconv %d, %v", num+tail, got, ok, w.pos, want, err)
				}
			}
		}
	}
	// A digit run broken at every position of the first eight bytes.
	for k := range 9 {
		s := strings.Repeat("7", k) + "a" + strings.Repeat("7", 10)
		w := wireScan{data: s}
		got, ok := w.digits()
		want, _ := strconv.ParseUint(s[:k], 10, 64)
		if ok != (k > 0) || got != want || (ok && w.pos != k) {
			t.Fatalf("digits(%q) = %d, %v at %d", s, got, ok, w.pos)
		}
	}
}
