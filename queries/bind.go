package queries

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Params are the values bound to @name placeholders.
type Params map[string]any

// Bind replaces every @name placeholder outside string literals and
// comments with the literal form of params[name]. A placeholder without a
// value, or a value no placeholder uses, is an error: both are bugs.
//
// Binding on the client keeps one SQL text for every server: ClickHouse 18.16
// has no server-side query parameters. Values are escaped as ClickHouse
// string literals, never spliced raw.
func Bind(sql string, params Params) (string, error) {
	var b strings.Builder
	b.Grow(len(sql) + 64)
	used := make(map[string]bool, len(params))
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '\'' || c == '`' || c == '"':
			j := skipQuoted(sql, i)
			b.WriteString(sql[i:j])
			i = j
		case c == '-' && i+1 < len(sql) && sql[i+1] == '-':
			j := strings.IndexByte(sql[i:], '\n')
			if j < 0 {
				j = len(sql) - i
			}
			b.WriteString(sql[i : i+j])
			i += j
		case c == '@' && i+1 < len(sql) && isIdentStart(sql[i+1]):
			j := i + 1
			for j < len(sql) && isIdentChar(sql[j]) {
				j++
			}
			name := sql[i+1 : j]
			v, ok := params[name]
			if !ok {
				return "", fmt.Errorf("bind: no value for @%s", name)
			}
			lit, err := Literal(v)
			if err != nil {
				return "", fmt.Errorf("bind @%s: %w", name, err)
			}
			used[name] = true
			b.WriteString(lit)
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	if len(used) != len(params) {
		var unused []string
		for k := range params {
			if !used[k] {
				unused = append(unused, "@"+k)
			}
		}
		sort.Strings(unused)
		return "", fmt.Errorf("bind: values given for placeholders the query does not use: %s", strings.Join(unused, ", "))
	}
	return b.String(), nil
}

func skipQuoted(s string, i int) int {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case q:
			return j + 1
		}
	}
	return len(s)
}

func isIdentStart(c byte) bool { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isIdentChar(c byte) bool  { return isIdentStart(c) || (c >= '0' && c <= '9') }

// Literal renders a Go value as a ClickHouse literal that means the same on
// 18.16 and current servers.
func Literal(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return QuoteString(x), nil
	case []string:
		parts := make([]string, len(x))
		for i, s := range x {
			parts[i] = QuoteString(s)
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	case []uint32:
		// An empty [] is Array(Nothing), which has() rejects on 18.16.
		if len(x) == 0 {
			return "emptyArrayUInt32()", nil
		}
		parts := make([]string, len(x))
		for i, n := range x {
			parts[i] = strconv.FormatUint(uint64(n), 10)
		}
		return "[" + strings.Join(parts, ", ") + "]", nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case int:
		return strconv.Itoa(x), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint8:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return "", fmt.Errorf("float %v has no portable literal", x)
		}
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if !strings.ContainsAny(s, ".eE") {
			s += ".0"
		}
		return s, nil
	case time.Time:
		// Seconds as a DateTime; callers needing sub-second precision bind
		// the *_ns integer columns instead.
		return "toDateTime(" + strconv.FormatInt(x.Unix(), 10) + ")", nil
	default:
		return "", fmt.Errorf("unsupported value type %T", v)
	}
}

// QuoteString renders s as a single-quoted ClickHouse string literal.
func QuoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}
