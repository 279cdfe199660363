package main

import (
	"encoding/hex"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/oneha/oneha/client"
)

// ParseParam turns a command-line parameter into its XML-RPC value: a
// string, or a typed value when it starts with int:, float:, bool:, null:,
// hex: or str:. NULL is an empty struct, as one.sql.* expect.
func ParseParam(s string) (any, error) {
	kind, val, ok := strings.Cut(s, ":")
	if !ok {
		return s, nil
	}
	switch kind {
	case "str":
		return val, nil
	case "int":
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: not a 64-bit integer", s)
		}
		return n, nil
	case "float":
		f, err := strconv.ParseFloat(val, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("parameter %q: not a finite number", s)
		}
		return f, nil
	case "bool":
		b, err := strconv.ParseBool(val)
		if err != nil {
			return nil, fmt.Errorf("parameter %q: not true or false", s)
		}
		return b, nil
	case "null":
		if val != "" {
			return nil, fmt.Errorf("parameter %q: null: takes no value", s)
		}
		return map[string]any{}, nil
	case "hex":
		b, err := hex.DecodeString(strings.TrimPrefix(strings.TrimPrefix(val, "0x"), "0X"))
		if err != nil {
			return nil, fmt.Errorf("parameter %q: not hexadecimal", s)
		}
		return b, nil
	}
	return s, nil // "http://...", "a:b": plain strings
}

// ParseParams is ParseParam over a list.
func ParseParams(args []string) ([]any, error) {
	out := make([]any, 0, len(args))
	for _, a := range args {
		v, err := ParseParam(a)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// SplitSQL splits a script into statements at semicolons outside quotes
// ('…', "…", `…`) and comments (-- …, # …, /* … */). Empty statements and
// comment-only statements are dropped.
func SplitSQL(script string) ([]string, error) {
	var out []string
	var cur strings.Builder
	code := false // cur holds something other than blanks and comments
	flush := func() {
		if s := strings.TrimSpace(cur.String()); s != "" && code {
			out = append(out, s)
		}
		cur.Reset()
		code = false
	}
	for i := 0; i < len(script); i++ {
		c := script[i]
		switch {
		case c == ';':
			flush()
		case c == '\'' || c == '"' || c == '`':
			j := i + 1
			for ; j < len(script); j++ {
				if script[j] == '\\' && c != '`' {
					j++
					continue
				}
				if script[j] == c {
					if j+1 < len(script) && script[j+1] == c { // doubled quote
						j++
						continue
					}
					break
				}
			}
			if j >= len(script) {
				return nil, fmt.Errorf("unterminated %c quote", c)
			}
			cur.WriteString(script[i : j+1])
			code = true
			i = j
		case c == '#' || isDashComment(script[i:]):
			j := strings.IndexByte(script[i:], '\n')
			if j < 0 {
				j = len(script) - i
			}
			cur.WriteString(script[i : i+j])
			i += j - 1
		case c == '/' && strings.HasPrefix(script[i:], "/*"):
			j := strings.Index(script[i+2:], "*/")
			if j < 0 {
				return nil, fmt.Errorf("unterminated /* comment")
			}
			cur.WriteString(script[i : i+2+j+2])
			i += 2 + j + 1
		default:
			cur.WriteByte(c)
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				code = true
			}
		}
	}
	flush()
	return out, nil
}

// Statements builds one.sql.exec's statement list: a bare string for a
// statement without parameters, else [sql, param, ...].
func Statements(sqls []string, params []any) []any {
	out := make([]any, 0, len(sqls))
	for _, s := range sqls {
		if len(params) == 0 {
			out = append(out, s)
			continue
		}
		out = append(out, append([]any{s}, params...))
	}
	return out
}

// Cell is a value as the table output prints it: NULL, binary as 0x hex.
func Cell(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case []byte:
		return "0x" + strings.ToUpper(hex.EncodeToString(x))
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case time.Time:
		return x.UTC().Format(time.DateTime)
	}
	return fmt.Sprint(v)
}

// QueryTable returns the cells of a query result for cli.AutoTable, and
// which columns to right-align (those holding only numbers and NULLs).
func QueryTable(q *client.Rows) ([][]string, map[int]bool) {
	right := map[int]bool{}
	for j := range q.Columns {
		right[j] = len(q.Rows) > 0
	}
	cells := make([][]string, 0, len(q.Rows))
	for _, r := range q.Rows {
		line := make([]string, len(r))
		for j, v := range r {
			line[j] = Cell(v)
			switch v.(type) {
			case int64, float64, nil:
			default:
				right[j] = false
			}
		}
		cells = append(cells, line)
	}
	for j, r := range right {
		if !r {
			delete(right, j)
		}
	}
	return cells, right
}

// isDashComment reports whether s starts a "-- " comment (MySQL needs the
// blank after the dashes).
func isDashComment(s string) bool {
	if !strings.HasPrefix(s, "--") {
		return false
	}
	return len(s) == 2 || strings.IndexByte(" \t\r\n", s[2]) >= 0
}
