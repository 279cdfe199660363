package sqlcheck

import (
	"encoding/hex"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Layouts of the literals the rewrite produces (SQLite's own formats).
const (
	sqliteTimestampLayout = "2006-01-02 15:04:05"     // CURRENT_TIMESTAMP
	sqliteDateLayout      = "2006-01-02"              // CURRENT_DATE
	sqliteTimeLayout      = "15:04:05"                // CURRENT_TIME
	sqliteNowLayout       = "2006-01-02 15:04:05.000" // 'now' in date functions
)

// rewriteStream separates the rewrite's PRNG stream from any other use of
// the entry seeds.
const rewriteStream = 0x6f6e6568615f7277 // "oneha_rw"

// RewriteSQLite returns sql with SQLite's clock and randomness replaced by
// literals derived only from now, the seeds and stmtIndex, so every server produces
// identical text:
//
//   - CURRENT_TIMESTAMP, CURRENT_DATE, CURRENT_TIME -> '2006-01-02 15:04:05',
//     '2006-01-02', '15:04:05' from now in UTC;
//   - the 'now' argument (any case) of date, time, datetime, julianday,
//     strftime (not its format), unixepoch and timediff -> now as
//     'YYYY-MM-DD HH:MM:SS.SSS'; a call without a time value (datetime(),
//     strftime('%s')) gets that literal added;
//   - random() -> a parenthesized int64 literal;
//   - randomblob(N), N an integer literal up to 1 MiB -> X'..' of max(N,1)
//     bytes.
//
// Random values come from a PCG generator seeded with seed1, seed2 and
// stmtIndex and are drawn in text order: the same (sql, now, seeds, stmtIndex) always
// yields the same text, different occurrences get different values.
// Comments, string literals other than those 'now' arguments, quoted
// identifiers and qualified names (t.random) are copied unchanged. DDL
// (CREATE/ALTER/DROP) is returned unchanged: CheckWrite refuses DDL that
// would need the rewrite.
//
// It fails (*UnsafeError) only on randomblob without an integer literal
// length, or ErrLex on text that does not tokenize; CheckWrite refuses both,
// so a checked statement never fails here.
func RewriteSQLite(sql string, now time.Time, seed1, seed2 uint32, stmtIndex int) (string, error) {
	s, err := parseOne(SQLite, sql)
	if err != nil {
		return "", err
	}
	if s.kw(0, "CREATE", "ALTER", "DROP") {
		return sql, nil
	}
	rng := rand.New(rand.NewPCG(uint64(seed1)<<32|uint64(seed2), uint64(stmtIndex)^rewriteStream))
	t := now.UTC()
	nowLit := quoteSQLite(t.Format(sqliteNowLayout))

	// Edits never overlap: each covers one token, one whole random() or
	// randomblob(N) call, or is an insertion at a token boundary.
	type edit struct {
		from, to int
		text     string
	}
	var edits []edit
	replace := func(from, to int, text string) {
		edits = append(edits, edit{from, to, text})
	}
	toks := s.toks
	for i := 0; i < len(toks); i++ {
		tk := toks[i]
		if tk.Kind != TokIdent && tk.Kind != TokQuotedIdent {
			continue
		}
		if s.punct(i-1, ".") {
			continue
		}
		if tk.Kind == TokIdent && !s.punct(i+1, "(") {
			switch tk.Value {
			case "CURRENT_TIMESTAMP":
				replace(tk.Pos, tk.End, quoteSQLite(t.Format(sqliteTimestampLayout)))
			case "CURRENT_DATE":
				replace(tk.Pos, tk.End, quoteSQLite(t.Format(sqliteDateLayout)))
			case "CURRENT_TIME":
				replace(tk.Pos, tk.End, quoteSQLite(t.Format(sqliteTimeLayout)))
			}
			continue
		}
		name, ok := s.funcName(i)
		if !ok || s.tablePosition(i) {
			continue
		}
		open := i + 1
		closeIdx := s.match[open]
		switch {
		case name == "RANDOM" && closeIdx == open+1:
			replace(tk.Pos, toks[closeIdx].End, int64Literal(int64(rng.Uint64())))
			i = closeIdx
		case name == "RANDOMBLOB":
			n, err := s.randomblobLen(i)
			if err != nil {
				return "", err
			}
			buf := make([]byte, n)
			for k := 0; k < n; k += 8 {
				v := rng.Uint64()
				for m := 0; m < 8 && k+m < n; m++ {
					buf[k+m] = byte(v >> (8 * m))
				}
			}
			replace(tk.Pos, toks[closeIdx].End, "X'"+hex.EncodeToString(buf)+"'")
			i = closeIdx
		case sqliteDateFuncs[name]:
			args := s.args(open)
			switch {
			case len(args) == 0:
				replace(toks[open].End, toks[open].End, nowLit)
			case name == "STRFTIME" && len(args) == 1:
				replace(toks[closeIdx].Pos, toks[closeIdx].Pos, ", "+nowLit)
			default:
				for k, a := range args {
					if name == "STRFTIME" && k == 0 {
						continue
					}
					if a[1]-a[0] == 1 && toks[a[0]].Kind == TokString && strings.EqualFold(toks[a[0]].Value, "now") {
						replace(toks[a[0]].Pos, toks[a[0]].End, nowLit)
					}
				}
			}
			// Arguments may hold further calls (datetime(random(), ...)):
			// keep scanning inside.
		}
	}
	if len(edits) == 0 {
		return sql, nil
	}
	slices.SortStableFunc(edits, func(x, y edit) int { return x.from - y.from })
	var b strings.Builder
	b.Grow(len(sql) + 32)
	last := 0 // source offset copied so far
	for _, e := range edits {
		b.WriteString(sql[last:e.from])
		b.WriteString(e.text)
		last = e.to
	}
	b.WriteString(sql[last:])
	return b.String(), nil
}

// quoteSQLite returns s as an SQLite string literal.
func quoteSQLite(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// int64Literal renders v so that it stays one integer wherever it is
// spliced: parenthesized (so "5-random()" cannot become the comment "5--3"),
// and MinInt64 as an expression because SQLite reads 9223372036854775808 as
// a real.
func int64Literal(v int64) string {
	if v == math.MinInt64 {
		return "(-9223372036854775807-1)"
	}
	return "(" + strconv.FormatInt(v, 10) + ")"
}

// tablePosition reports whether token i stands where a statement names a
// table (after INTO, UPDATE, FROM, JOIN or UPDATE OR <action>): there
// "random()" is a (malformed) table reference, as CheckWrite reads it, not
// a call to rewrite.
func (s *stmt) tablePosition(i int) bool {
	return s.kw(i-1, "INTO", "UPDATE", "FROM", "JOIN") ||
		(s.kw(i-2, "OR") && s.kw(i-3, "UPDATE", "INSERT"))
}
