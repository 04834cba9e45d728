package tag

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

var validCases = []string{
	``, ` `, `{}`, `[]`, `{"a":1}`, ` {"a" : [1, 2.5, -3e+7, true, false, null, "x\"\\\/\b\f\n\r\t\u00e9"]} `,
	`0`, `-0`, `01`, `-`, `1.`, `.5`, `1e`, `1e+`, `1E-2`, `-1.25e10`, `1.2.3`, `+1`, `0x1`, `1 2`,
	`"abc`, `"a\x"`, `"\u12"`, `"\u12G4"`, `"\ud800"`, "\"tab\there\"", "\"ctl\x01\"", "\"us\x1f\"", "\"del\x7f\"", "\"bad utf8 \xff\xfe\"",
	`{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":1 "b":2}`, `{1:2}`, `[1,]`, `[,1]`, `[1 2]`, `[`, `]`, `{`, `}`,
	`tru`, `true`, `truex`, `nul`, `nulll`, `falsey`, `"x"y`, `{"a":{"b":{"c":[[[]]]}}}`, "[\n1\r,\t2]",
	`{"event_id":"e1","service":"checkout","attrs":{"region":"eu","n":3},"time":"2026-11-30T00:00:00Z"}`,
	strings.Repeat("[", 10000) + strings.Repeat("]", 10000), strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
	strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000), strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001),
}

// TestValidJSONAsEncodingJSON: the same answer as json.Valid on edge cases
// and on a hundred thousand random mutations of valid records.
func TestValidJSONAsEncodingJSON(t *testing.T) {
	for _, c := range validCases {
		if got, want := validJSON([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("validJSON(%.60q) = %v, json.Valid says %v", c, got, want)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(" \t\n{}[]:,\"\\/-+.eE0123456789abfnrtuxlsAF\x01\x1f\x7f\xff")
	for n := 0; n < 100_000; n++ {
		b := []byte(validCases[r.IntN(len(validCases)-4)])
		for m := r.IntN(4); m >= 0 && len(b) > 0; m-- {
			switch i := r.IntN(len(b)); r.IntN(3) {
			case 0:
				b[i] = alphabet[r.IntN(len(alphabet))]
			case 1:
				b = append(b[:i:i], b[i+1:]...)
			default:
				b = append(b[:i:i], append([]byte{alphabet[r.IntN(len(alphabet))]}, b[i:]...)...)
			}
		}
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	}
}

func FuzzValidJSON(f *testing.F) {
	for _, c := range validCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("validJSON(%q) = %v, json.Valid says %v", b, got, want)
		}
	})
}

// checkedValid is what jsonEvent's one-pass walk says of an object.
func checkedValid(b []byte) bool {
	m := newCheckedMembers(b)
	for {
		if _, _, ok := m.next(); !ok {
			return m.valid()
		}
	}
}

// TestCheckedMembersAsValidJSON: the one-pass walk of jsonEvent accepts
// exactly the objects validJSON (and so json.Valid) accepts, on the edge
// cases and on a hundred thousand random mutations of objects.
func TestCheckedMembersAsValidJSON(t *testing.T) {
	var objects []string
	for _, c := range validCases {
		if strings.HasPrefix(c, "{") {
			objects = append(objects, c)
		}
	}
	objects = append(objects, `{"a":1} `, `{"a":1}x`, `{ }`, `{"a":1,"b":{"c":"d"},"e":[1,{"f":null}]}`, "{\"a\"\t:\n1\r}")
	for _, c := range objects {
		if got, want := checkedValid([]byte(c)), json.Valid([]byte(c)); got != want {
			t.Errorf("checked walk of %.60q = %v, json.Valid says %v", c, got, want)
		}
	}
	var small []string // the mutations leave out the 10000-deep cases
	for _, c := range objects {
		if len(c) < 1000 {
			small = append(small, c)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte(" \t\n{}[]:,\"\\/-+.eE0123456789abfnrtuxlsAF\x01\x1f\x7f\xff")
	for n := 0; n < 100_000; n++ {
		b := []byte(small[r.IntN(len(small))])
		for m := r.IntN(4); m >= 0 && len(b) > 1; m-- {
			switch i := 1 + r.IntN(len(b)-1); r.IntN(3) { // keep the leading '{'
			case 0:
				b[i] = alphabet[r.IntN(len(alphabet))]
			case 1:
				b = append(b[:i:i], b[i+1:]...)
			default:
				b = append(b[:i:i], append([]byte{alphabet[r.IntN(len(alphabet))]}, b[i:]...)...)
			}
		}
		if got, want := checkedValid(b), json.Valid(b); got != want {
			t.Fatalf("checked walk of %q = %v, json.Valid says %v", b, got, want)
		}
	}
}
