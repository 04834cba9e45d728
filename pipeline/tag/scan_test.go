package tag

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The byte-level readers of JSON fields were rewritten for speed (one pass,
// lookup tables); these tests hold each to the straightforward version it
// replaced, kept below as the reference, on many varied inputs.

// refNumberScaled is numberScaled as it was: a pass for the point and the
// exponent, then one for the digits.
func refNumberScaled(lit []byte, scale func(float64) int64) (int64, string) {
	if lit[0] == '-' {
		return 0, "must not be negative"
	}
	dot, exp := -1, false
	for i, c := range lit {
		switch c {
		case '.':
			dot = i
		case 'e', 'E':
			exp = true
		}
	}
	if exp {
		f, err := strconv.ParseFloat(string(lit), 64)
		v := f * float64(scale(f))
		if err != nil || v >= math.MaxInt64 {
			return 0, "out of range"
		}
		return int64(math.Round(v)), ""
	}
	ipart, frac := lit, []byte(nil)
	if dot >= 0 {
		ipart, frac = lit[:dot], lit[dot+1:]
	}
	var ip int64
	for _, c := range ipart {
		if ip > (math.MaxInt64-9)/10 {
			return 0, "out of range"
		}
		ip = ip*10 + int64(c-'0')
	}
	sc := scale(float64(ip))
	if ip > (math.MaxInt64-sc)/sc {
		return 0, "out of range"
	}
	v := ip * sc
	for _, c := range frac {
		if sc /= 10; sc == 0 {
			break
		}
		v += int64(c-'0') * sc
	}
	return v, ""
}

// randNumber is a JSON number literal: sign, integer part of 1 to 25
// digits (one digit when it starts with 0), an optional fraction and an
// optional exponent of either case and sign.
func randNumber(r *rand.Rand) string {
	var b strings.Builder
	if r.IntN(10) == 0 {
		b.WriteByte('-')
	}
	if r.IntN(5) == 0 {
		b.WriteByte('0')
	} else {
		b.WriteByte(byte('1' + r.IntN(9)))
		for range r.IntN(25) {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
	}
	if r.IntN(2) == 0 {
		b.WriteByte('.')
		for range 1 + r.IntN(12) {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
	}
	if r.IntN(4) == 0 {
		b.WriteByte("eE"[r.IntN(2)])
		if s := r.IntN(3); s > 0 {
			b.WriteByte("+-"[s-1])
		}
		for range 1 + r.IntN(3) {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
	}
	return b.String()
}

func TestNumberScaledAsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	lits := []string{"0", "1", "0.5", "9223372036854775807", "9223372036854775808", "922337203685477580", "92233720368547758070",
		"1700000000", "1700000000123", "1700000000123456", "1700000000123456789", "99999999999.999999999", "1e11", "1E-3",
		"123.456e2", "0.0000000001", "5e400", "-0"}
	for range 200_000 {
		lits = append(lits, randNumber(r))
	}
	for _, lit := range lits {
		require.True(t, validJSON([]byte(lit)), lit)
		for _, sc := range []struct {
			name string
			f    func(float64) int64
		}{{"ms", msScale}, {"unix", unixScale}} {
			got, gotMsg := numberScaled([]byte(lit), sc.f)
			want, wantMsg := refNumberScaled([]byte(lit), sc.f)
			require.Equal(t, wantMsg, gotMsg, "%s (%s)", lit, sc.name)
			require.Equal(t, want, got, "%s (%s)", lit, sc.name)
		}
	}
}

// refHexField is what state.hexField must answer, written the plain way:
// 2n bytes, every one a hex digit, lower-cased.
func refHexField(v string, n int) (string, bool) {
	if len(v) != 2*n {
		return "", false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return "", false
		}
	}
	return strings.ToLower(v), true
}

func TestHexFieldAsReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	s := &state{plain: true}
	const alphabet = "0123456789abcdefABCDEF/:@G`gxz \x00\xff"
	for k := range 200_000 {
		n := []int{8, 16}[k%2]
		l := 2 * n
		if r.IntN(10) == 0 {
			l = 1 + r.IntN(40) // not 0: an empty id is an absent one
		}
		b := make([]byte, l)
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = alphabet[r.IntN(len(alphabet))] // mostly 1 odd byte in 4
			} else {
				b[i] = alphabet[r.IntN(16)]
			}
		}
		v := string(b)
		want, ok := refHexField(v, n)
		got, re := s.hexField([]byte(`"`+v+`"`), "trace_id", n)
		if !ok {
			require.NotNil(t, re, "%q", v)
			continue
		}
		require.Nil(t, re, "%q", v)
		require.Equal(t, want, got, "%q", v)
	}
	// Every single byte in every position of a lower-case id.
	for c := range 256 {
		for pos := range 32 {
			b := []byte("0123456789abcdef0123456789abcdef")
			b[pos] = byte(c)
			want, ok := refHexField(string(b), 16)
			got, re := s.hexField([]byte(`"`+string(b)+`"`), "trace_id", 16)
			assert.Equal(t, ok, re == nil, "%q", b)
			assert.Equal(t, want, got, "%q", b)
		}
	}
}

// refCheckEventID is checkEventID's byte test as it was.
func refBadIDByte(c byte) bool {
	return c <= ' ' || c > '~' || c == '"' || c == '\'' || c == '\\'
}

func TestCheckEventIDAsReference(t *testing.T) {
	for c := range 256 {
		id := "ab" + string([]byte{byte(c)}) + "cd"
		msg := checkEventID(id)
		assert.Equal(t, refBadIDByte(byte(c)), msg != "", "byte %#x", c)
	}
	assert.Empty(t, checkEventID("tput-000000001"))
}
