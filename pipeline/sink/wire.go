package sink

import (
	"math"
	"math/bits"
	"unicode/utf8"

	chproto "github.com/ClickHouse/ch-go/proto"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// The sink's fast decoder: a record in the exact form telemetry's
// AppendJSON writes (every key, in column order, no whitespace) is scanned
// once, straight into the batch's column slices: strings are copied (and
// unescaped) into their column's buffer as they are read, numbers parsed
// in place, and nothing is allocated per record. It accepts only what the
// general decoder (telemetry.Decoder plus the sink's time range check)
// accepts, with the same values; anything else, from a fraction or a null
// to a key out of order, an escaped surrogate or invalid UTF-8, makes it
// give up and leaves the record to the general decoder, which decides, and
// says why when it refuses (TestWireDecoderMatchesGeneral holds the two to
// the same rows and errors on mutated records).

// wireOp is how a column's value is read.
type wireOp uint8

const (
	opString  wireOp = iota // a String column: rows.strs[idx]
	opDerived               // event_time, ingest_time: an int64 the sink recomputes
	opTimeNs                // event_time_ns, ingest_time_ns: rows.ns[idx]
	opKind
	opCohort
	opStatus
	opFlag // synthetic, is_error: 0 or 1, rows.u8[idx]
	opHTTPStatus
	opDuration
	opArray // an Array(String) column: rows.flat[idx]
)

type wireStep struct {
	prefix string // what precedes the value: `{"event_id":` or `,"service":`
	// The prefix as three 8-byte words, at 0, 8 and len-8 (overlapping
	// when shorter than 24 bytes): matched with three loads, not a call
	// to the runtime's memequal per column (a fifth of the scan's
	// instructions went there).
	words [3]uint64
	at    [3]int
	op    wireOp
	idx   int
}

// prefixWords fills st's words from its prefix (8 to 24 bytes).
func (st *wireStep) prefixWords() {
	n := len(st.prefix)
	if n < 8 || n > 24 {
		panic("sink: wire prefix " + st.prefix + " is not 8 to 24 bytes")
	}
	st.at = [3]int{0, min(8, n-8), n - 8}
	for k, at := range st.at {
		st.words[k] = telemetry.Load64(st.prefix, at)
	}
}

// wirePlan is the wire form, column by column (all but the Kafka
// position, which the sink adds).
var wirePlan = func() [telemetry.ColKafkaPartition]wireStep {
	var plan [telemetry.ColKafkaPartition]wireStep
	strIdx := map[int]int{}
	for f, sf := range stringFields {
		strIdx[sf.col] = f
	}
	for c := range telemetry.ColKafkaPartition {
		st := wireStep{prefix: `,"` + telemetry.Schema[c].Name + `":`}
		if c == 0 {
			st.prefix = "{" + st.prefix[1:]
		}
		switch c {
		case telemetry.ColEventTime, telemetry.ColIngestTime:
			st.op = opDerived
		case telemetry.ColEventTimeNs:
			st.op, st.idx = opTimeNs, 0
		case telemetry.ColIngestTimeNs:
			st.op, st.idx = opTimeNs, 1
		case telemetry.ColKind:
			st.op = opKind
		case telemetry.ColCohort:
			st.op = opCohort
		case telemetry.ColStatus:
			st.op = opStatus
		case telemetry.ColSynthetic:
			st.op, st.idx = opFlag, 0
		case telemetry.ColIsError:
			st.op, st.idx = opFlag, 1
		case telemetry.ColHTTPStatus:
			st.op = opHTTPStatus
		case telemetry.ColDurationNs:
			st.op = opDuration
		case telemetry.ColAttrKeys, telemetry.ColAttrValues, telemetry.ColResKeys, telemetry.ColResValues:
			st.op, st.idx = opArray, int(c-telemetry.ColAttrKeys)
		default:
			f, ok := strIdx[int(c)]
			if !ok {
				panic("sink: wire column " + telemetry.Schema[c].Name + " has no place in rows")
			}
			st.op, st.idx = opString, f
		}
		st.prefixWords()
		plan[c] = st
	}
	return plan
}()

// plainByte marks the bytes a string copies as they are: printable ASCII
// other than the quote and the backslash.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// wireScan is one record being scanned.
type wireScan struct {
	data string
	pos  int
}

// lit consumes s if the data continues with it.
func (w *wireScan) lit(s string) bool {
	if len(w.data)-w.pos >= len(s) && w.data[w.pos:w.pos+len(s)] == s {
		w.pos += len(s)
		return true
	}
	return false
}

// prefix consumes st's prefix if the data continues with it.
func (w *wireScan) prefix(st *wireStep) bool {
	data, i := w.data, w.pos
	n := len(st.prefix)
	if len(data)-i < n || telemetry.Load64(data, i+st.at[0]) != st.words[0] ||
		telemetry.Load64(data, i+st.at[1]) != st.words[1] || telemetry.Load64(data, i+st.at[2]) != st.words[2] {
		return false
	}
	w.pos = i + n
	return true
}

// plainRun is the end of the run of plain bytes (see plainByte) that
// starts at i: eight bytes at a time (telemetry.Special8), then one by one.
func plainRun(data string, i int) int {
	for i+8 <= len(data) {
		if m := telemetry.Special8(telemetry.Load64(data, i)); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		i += 8
	}
	for i < len(data) && plainByte[data[i]] {
		i++
	}
	return i
}

// str reads a JSON string into buf and returns its position there, as
// arena does. False: not a string the fast path takes.
func (w *wireScan) str(buf *[]byte) (chproto.Position, bool) {
	var none chproto.Position
	data, i := w.data, w.pos
	if i >= len(data) || data[i] != '"' {
		return none, false
	}
	if i+1 < len(data) && data[i+1] == '"' {
		// Empty, as most optional fields are: nothing to scan or copy.
		w.pos = i + 2
		return chproto.Position{Start: len(*buf), End: len(*buf)}, true
	}
	start := i + 1
	i = plainRun(data, start)
	if i < len(data) && data[i] == '"' {
		w.pos = i + 1
		return arena(buf, data[start:i]), true
	}
	b0 := len(*buf)
	b := append(*buf, data[start:i]...)
	high := false
	for i < len(data) {
		c := data[i]
		switch {
		case c == '"':
			*buf = b
			w.pos = i + 1
			if high && !utf8.Valid(b[b0:]) {
				// The general decoder replaces invalid UTF-8.
				*buf = b[:b0]
				return none, false
			}
			return chproto.Position{Start: b0, End: len(b)}, true
		case c == '\\':
			if i+1 >= len(data) {
				*buf = b[:b0]
				return none, false
			}
			e := data[i+1]
			i += 2
			if c, ok := telemetry.SimpleEscape(e); ok {
				b = append(b, c)
				continue
			}
			switch e {
			case 'u':
				r, ok := hex4(data, i)
				if !ok || (r >= 0xD800 && r < 0xE000) {
					// Surrogates (pairs or not) are the general decoder's.
					*buf = b[:b0]
					return none, false
				}
				b = utf8.AppendRune(b, r)
				i += 4
			default:
				*buf = b[:b0]
				return none, false
			}
		case c < 0x20:
			*buf = b[:b0]
			return none, false
		default:
			if c >= utf8.RuneSelf {
				high = true
			}
			b = append(b, c)
			i++
		}
	}
	*buf = b[:b0]
	return none, false
}

func hex4(data string, i int) (rune, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(data[i : i+4]) {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// digits reads a decimal number (no sign) that fits uint64. False: no
// digits, or too large.
func (w *wireScan) digits() (uint64, bool) {
	data, i := w.data, w.pos
	var v uint64
	// Eight digits at a time, at most twice (16 digits cannot overflow),
	// then one by one.
	for k := 0; k < 2 && i+8 <= len(data); k++ {
		x := telemetry.Load64(data, i)
		if !digits8(x) {
			break
		}
		v = v*1e8 + parse8(x)
		i += 8
	}
	for i < len(data) {
		c := data[i] - '0'
		if c > 9 {
			break
		}
		if i-w.pos >= 19 && (v > math.MaxUint64/10 || v*10 > math.MaxUint64-uint64(c)) {
			return 0, false
		}
		v = v*10 + uint64(c)
		i++
	}
	if i == w.pos {
		return 0, false
	}
	w.pos = i
	return v, true
}

// digits8 says whether the 8 bytes of x (little-endian) are all ASCII
// digits: each byte's high nibble is 3 and adding 6 does not carry into it.
func digits8(x uint64) bool {
	const hi = 0xF0F0F0F0F0F0F0F0
	return x&hi|((x+0x0606060606060606)&hi)>>4 == 0x3333333333333333
}

// parse8 is the value of 8 ASCII digits read little-endian (the first
// digit in the low byte): pairs, then fours, then the eight, by multiplies.
func parse8(x uint64) uint64 {
	x -= 0x3030303030303030
	x = x*10 + x>>8                                                                                 // each 16-bit lane's low byte: a two-digit pair
	x = ((x&0x000000FF000000FF)*(100+1000000<<32) + (x>>16&0x000000FF000000FF)*(1+10000<<32)) >> 32 // the eight
	return x
}

// int64 reads an integer that fits int64 (but not its minimum, which the
// general decoder takes).
func (w *wireScan) int64() (int64, bool) {
	neg := w.pos < len(w.data) && w.data[w.pos] == '-'
	if neg {
		w.pos++
	}
	v, ok := w.digits()
	if !ok || v > math.MaxInt64 {
		return 0, false
	}
	if neg {
		return -int64(v), true
	}
	return int64(v), true
}

// enumString reads a string without escapes, in place.
func (w *wireScan) enumString() (string, bool) {
	data, i := w.data, w.pos
	if i >= len(data) || data[i] != '"' {
		return "", false
	}
	start := i + 1
	i = plainRun(data, start)
	if i >= len(data) || data[i] != '"' {
		return "", false
	}
	w.pos = i + 1
	return data[start:i], true
}

// addWire appends the record to r when it is in the exact wire form and
// the general decoder would accept it, and reports whether it did; when
// not, r is as it was.
func (r *rows) addWire(value string, partition int32, offset int64) bool {
	n := r.len()
	var bufLens [len(stringFields)]int
	for f := range r.bufs {
		bufLens[f] = len(r.bufs[f])
	}
	var flatLens, flatBufLens [4]int
	for a := range r.flat {
		flatLens[a], flatBufLens[a] = len(r.flat[a]), len(r.flatBuf[a])
	}
	if r.scanWire(value, partition, offset) {
		return true
	}
	for f := range r.strs {
		r.strs[f], r.bufs[f] = r.strs[f][:n], r.bufs[f][:bufLens[f]]
	}
	for a := range r.flat {
		r.flat[a], r.flatBuf[a] = r.flat[a][:flatLens[a]], r.flatBuf[a][:flatBufLens[a]]
	}
	return false
}

// scanWire is addWire's scan. On false the string columns may hold part of
// the record, which addWire drops; the other columns are appended only
// once the whole record is accepted.
func (r *rows) scanWire(value string, partition int32, offset int64) bool {
	w := wireScan{data: value}
	var (
		ns        [2]int64
		flags     [2]uint8
		kind      telemetry.Kind
		cohort    telemetry.Cohort
		status    telemetry.Status
		http      uint16
		dur       uint64
		arrayLens [4]int
	)
	for i := range wirePlan {
		st := &wirePlan[i]
		if !w.prefix(st) {
			return false
		}
		switch st.op {
		case opString:
			s, ok := w.str(&r.bufs[st.idx])
			if !ok {
				return false
			}
			r.strs[st.idx] = append(r.strs[st.idx], s)
		case opDerived:
			if _, ok := w.int64(); !ok {
				return false
			}
		case opTimeNs:
			v, ok := w.int64()
			if !ok {
				return false
			}
			ns[st.idx] = v
		case opKind:
			s, ok := w.enumString()
			if !ok {
				return false
			}
			k, err := telemetry.ParseKind(s)
			if err != nil {
				return false
			}
			kind = k
		case opCohort:
			s, ok := w.enumString()
			if !ok {
				return false
			}
			c, err := telemetry.ParseCohort(s)
			if err != nil {
				return false
			}
			cohort = c
		case opStatus:
			s, ok := w.enumString()
			if !ok {
				return false
			}
			v, err := telemetry.ParseStatus(s)
			if err != nil {
				return false
			}
			status = v
		case opFlag:
			v, ok := w.digits()
			if !ok || v > 1 {
				return false
			}
			flags[st.idx] = uint8(v)
		case opHTTPStatus:
			v, ok := w.digits()
			if !ok || v > math.MaxUint16 {
				return false
			}
			http = uint16(v)
		case opDuration:
			v, ok := w.digits()
			if !ok {
				return false
			}
			dur = v
		case opArray:
			if !w.lit("[") {
				return false
			}
			a := st.idx
			if !w.lit("]") {
				for {
					s, ok := w.str(&r.flatBuf[a])
					if !ok {
						return false
					}
					r.flat[a] = append(r.flat[a], s)
					arrayLens[a]++
					if w.lit("]") {
						break
					}
					if !w.lit(",") {
						return false
					}
				}
			}
		}
	}
	if !w.lit("}") || w.pos != len(value) {
		return false
	}
	// The general decoder's and the sink's checks.
	if id := r.strs[0][len(r.strs[0])-1]; id.End == id.Start || arrayLens[0] != arrayLens[1] || arrayLens[2] != arrayLens[3] ||
		ns[0] < minEventNs || ns[0] > maxEventNs || ns[1] < 0 {
		return false
	}
	r.ns[0] = append(r.ns[0], uint64(ns[0]))
	r.ns[1] = append(r.ns[1], uint64(ns[1]))
	r.dur = append(r.dur, dur)
	r.http = append(r.http, http)
	r.u8[0] = append(r.u8[0], flags[0])
	r.u8[1] = append(r.u8[1], flags[1])
	// The Go constants are the Enum8 values of the events table.
	r.enums[0] = append(r.enums[0], int8(kind))
	r.enums[1] = append(r.enums[1], int8(cohort))
	r.enums[2] = append(r.enums[2], int8(status))
	for a := range r.ends {
		r.ends[a] = append(r.ends[a], len(r.flat[a]))
	}
	r.parts = append(r.parts, partition)
	r.offsets = append(r.offsets, offset)
	r.values = append(r.values, value)
	return true
}
