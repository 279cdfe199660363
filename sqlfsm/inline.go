package sqlfsm

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/oneha/oneha/sqlcheck"
)

// inlineMySQL returns sql with each '?' placeholder replaced by its
// parameter as a MySQL literal, so an entry can run as plain text (in one
// multi-statement round trip with its batch). Placeholders are found by the
// lexer, so a '?' inside a string, identifier or comment is left alone.
//
// Invariant: the output depends only on (sql, params), and assumes the
// session settings mysqlPins pins (no NO_BACKSLASH_ESCAPES, no ANSI_QUOTES,
// utf8mb4).
func inlineMySQL(tc *textCache, sql string, params []any) (string, error) {
	if len(params) == 0 {
		return sql, nil
	}
	spans, err := tc.placeholderSpans(sql)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.Grow(len(sql) + 16*len(params))
	last, n := 0, 0
	for _, sp := range spans {
		if n >= len(params) {
			return "", fmt.Errorf("%w: more placeholders than the %d parameters", ErrBadParam, len(params))
		}
		b.WriteString(sql[last:sp.pos])
		if err := appendMySQLLiteral(&b, params[n]); err != nil {
			return "", fmt.Errorf("parameter %d: %w", n, err)
		}
		last, n = sp.end, n+1
	}
	if n != len(params) {
		return "", fmt.Errorf("%w: %d placeholders for %d parameters", ErrBadParam, n, len(params))
	}
	b.WriteString(sql[last:])
	return b.String(), nil
}

// span is the byte range of one placeholder token.
type span struct{ pos, end int }

// lexSpans returns the placeholder spans of Lex(MySQL, sql).
func lexSpans(sql string) ([]span, error) {
	toks, err := sqlcheck.Lex(sqlcheck.MySQL, sql)
	if err != nil {
		return nil, err
	}
	spans := []span{}
	for _, t := range toks {
		if t.Kind == sqlcheck.TokParam {
			spans = append(spans, span{t.Pos, t.End})
		}
	}
	return spans, nil
}

// appendMySQLLiteral writes v as a MySQL literal.
func appendMySQLLiteral(b *strings.Builder, v any) error {
	switch x := v.(type) {
	case nil:
		b.WriteString("NULL")
	case bool:
		if x {
			b.WriteString("1")
		} else {
			b.WriteString("0")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%w: %v has no SQL literal", ErrBadParam, x)
		}
		// 'e' form keeps it a DOUBLE literal (a plain 0.1 would be DECIMAL).
		b.WriteString(strconv.FormatFloat(x, 'e', -1, 64))
	case string:
		b.WriteByte('\'')
		escapeMySQL(b, x)
		b.WriteByte('\'')
	case []byte:
		b.WriteString("X'")
		b.WriteString(hex.EncodeToString(x))
		b.WriteByte('\'')
	case time.Time:
		b.WriteByte('\'')
		b.WriteString(x.UTC().Format(SQLDateTime))
		b.WriteByte('\'')
	default:
		return fmt.Errorf("%w: unsupported parameter type %T", ErrBadParam, v)
	}
	return nil
}

// escapeMySQL escapes s for a single-quoted MySQL string, as
// mysql_real_escape_string does.
func escapeMySQL(b *strings.Builder, s string) {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '"':
			b.WriteString(`\"`)
		case 0x1a:
			b.WriteString(`\Z`)
		default:
			b.WriteByte(c)
		}
	}
}
