package tag

import (
	"encoding/binary"
	"math/bits"

	"github.com/steadystate/steadystate/pipeline/telemetry"
)

// validJSON reports whether b is one valid JSON value, with optional
// surrounding whitespace: exactly what encoding/json.Valid answers
// (TestValidJSONAsEncodingJSON and FuzzValidJSON compare them), at a
// fraction of its cost. json.Valid runs a state machine with a function
// call per byte; on a typical NDJSON request it was about half of the
// decode and tag stage.
func validJSON(b []byte) bool {
	v := validator{b: b}
	i, ok := v.value(v.space(0), 0)
	return ok && v.space(i) == len(b)
}

// maxNesting is encoding/json's limit of nested arrays and objects.
const maxNesting = 10000

type validator struct {
	b []byte
	// special: a string seen so far holds an escape or a non-ASCII byte.
	special bool
}

// space returns the index of the first byte at or after i that is not
// whitespace. Most calls find none (NDJSON without spaces): a byte above
// ' ' returns at once (the switch's four comparisons for every such byte
// were 6 % of BenchmarkStageDecodeTag's instructions).
func (v *validator) space(i int) int {
	for i < len(v.b) && v.b[i] <= ' ' {
		switch v.b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// value checks the value starting at b[i] and returns the index past it.
func (v *validator) value(i, depth int) (int, bool) {
	b := v.b
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		return v.str(i)
	case c == '{':
		if depth >= maxNesting {
			return i, false
		}
		return v.object(i, depth+1)
	case c == '[':
		if depth >= maxNesting {
			return i, false
		}
		return v.array(i, depth+1)
	case c == '-' || (c >= '0' && c <= '9'):
		return v.number(i)
	case c == 't':
		return v.literal(i, "true")
	case c == 'f':
		return v.literal(i, "false")
	case c == 'n':
		return v.literal(i, "null")
	}
	return i, false
}

func (v *validator) literal(i int, lit string) (int, bool) {
	if len(v.b)-i < len(lit) || string(v.b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}

func (v *validator) object(i, depth int) (int, bool) {
	b := v.b
	i = v.space(i + 1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, false
		}
		var ok bool
		if i, ok = v.str(i); !ok {
			return i, false
		}
		i = v.space(i)
		if i >= len(b) || b[i] != ':' {
			return i, false
		}
		if i, ok = v.value(v.space(i+1), depth); !ok {
			return i, false
		}
		i = v.space(i)
		if i >= len(b) {
			return i, false
		}
		switch b[i] {
		case ',':
			i = v.space(i + 1)
		case '}':
			return i + 1, true
		default:
			return i, false
		}
	}
}

func (v *validator) array(i, depth int) (int, bool) {
	b := v.b
	i = v.space(i + 1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		var ok bool
		if i, ok = v.value(i, depth); !ok {
			return i, false
		}
		i = v.space(i)
		if i >= len(b) {
			return i, false
		}
		switch b[i] {
		case ',':
			i = v.space(i + 1)
		case ']':
			return i + 1, true
		default:
			return i, false
		}
	}
}

// str checks the string literal starting at b[i] (a quote). Like
// encoding/json it refuses control characters and bad escapes and lets
// other bytes through (invalid UTF-8 included).
func (v *validator) str(i int) (int, bool) {
	b := v.b
	for i++; i < len(b); i++ {
		// Eight bytes at a time while none is special (most strings have
		// none): this loop was the validator's largest cost.
		// Then straight to the first byte that is.
		for i+8 <= len(b) {
			if m := telemetry.Special8(binary.LittleEndian.Uint64(b[i:])); m != 0 {
				i += bits.TrailingZeros64(m) / 8
				break
			}
			i += 8
		}
		if i >= len(b) {
			break
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, true
		case c < 0x20:
			return i, false
		case c >= 0x80:
			v.special = true
		case c == '\\':
			v.special = true
			i++
			if i >= len(b) {
				return i, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-i <= 4 {
					return i, false
				}
				for _, h := range b[i+1 : i+5] {
					if !isHex(h) {
						return i, false
					}
				}
				i += 4
			default:
				return i, false
			}
		}
	}
	return i, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// number checks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? at b[i].
func (v *validator) number(i int) (int, bool) {
	b := v.b
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return j, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return j, false
		}
		i = j
	}
	return i, true
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}
