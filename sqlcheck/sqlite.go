package sqlcheck

import (
	"fmt"
	"strconv"
	"strings"
)

// maxRandomblob caps randomblob(N) so a rewritten statement stays small.
const maxRandomblob = 1 << 20

// randomblobLen returns N of randomblob(N) at i, refusing anything but an
// integer literal up to maxRandomblob.
func (s *stmt) randomblobLen(i int) (int, error) {
	if i+3 < len(s.toks) && s.toks[i+2].Kind == TokNumber && s.punct(i+3, ")") {
		if n, err := strconv.Atoi(s.toks[i+2].Text); err == nil {
			if n > maxRandomblob {
				return 0, unsafe("randomblob("+s.toks[i+2].Text+")", fmt.Sprintf("at most %d bytes", maxRandomblob))
			}
			return max(n, 1), nil
		}
	}
	return 0, unsafe("randomblob()", "its length must be an integer literal so the leader can bind the bytes")
}

// dateFuncNow reports whether the SQLite date function called at i reads the
// clock: an argument 'now', or no time value at all.
func (s *stmt) dateFuncNow(i int) bool {
	args := s.args(i + 1)
	name := upperIdent(s.toks[i].Value)
	if len(args) == 0 || (name == "STRFTIME" && len(args) == 1) {
		return true
	}
	for k, a := range args {
		if name == "STRFTIME" && k == 0 {
			continue
		}
		if a[1]-a[0] == 1 && s.toks[a[0]].Kind == TokString && strings.EqualFold(s.toks[a[0]].Value, "now") {
			return true
		}
	}
	return false
}

// checkDateArgs refuses SQLite date-function arguments that read the
// server's time zone or that SQLite may take for 'now' behind the checks'
// back (a double-quoted "now" becomes a string when no such column exists).
func (s *stmt) checkDateArgs(i int) error {
	for _, a := range s.args(i + 1) {
		if a[1]-a[0] != 1 {
			continue
		}
		t := s.toks[a[0]]
		v := strings.ToLower(t.Value)
		switch {
		case t.Kind == TokString && (v == "localtime" || v == "utc"):
			return unsafe("'"+v+"' modifier", "converts with each server's local time zone")
		case t.Kind == TokQuotedIdent && t.Text[0] == '"' && (v == "now" || v == "localtime" || v == "utc"):
			return unsafe(t.Text, "SQLite may read a double-quoted word as a string; write '"+v+"' or quote a column as [x] or `x`")
		}
	}
	return nil
}
