package federation

import (
	"errors"
	"fmt"
	"strings"

	"github.com/oneha/oneha/backup"
	"github.com/oneha/oneha/sqlcheck"
)

// ErrBadSnapshot: a snapshot of the federated tables holds something
// other than what FSM.FedSnapshot writes.
var ErrBadSnapshot = errors.New("not a snapshot of the federated tables")

// mysqlSessionSets are the SET statements of a MySQL dump (backup's
// prologue and epilogue), compact and upper-cased.
var mysqlSessionSets = map[string]bool{
	"SETNAMESUTF8MB4": true, "SETTIME_ZONE='+00:00'": true, "SETSQL_MODE='NO_AUTO_VALUE_ON_ZERO'": true,
	"SETFOREIGN_KEY_CHECKS=0": true, "SETFOREIGN_KEY_CHECKS=1": true, "SETUNIQUE_CHECKS=0": true, "SETUNIQUE_CHECKS=1": true,
}

// CheckSnapshot accepts a dump only if it is what a master's snapshot of
// the federated tables holds, so that a caller with credentials cannot
// use one.zone.fedsnapshot to run other SQL on every server of a slave:
// each statement is backup's session SET, DROP TABLE IF EXISTS, CREATE
// TABLE or CREATE [UNIQUE] INDEX … ON of a federated table, or an INSERT
// INTO a federated table whose values are literals only; none names one
// of OneHA's own tables.
func CheckSnapshot(d sqlcheck.Dialect, dump string, fed Tables) error {
	n := 0
	err := backup.EachStatement(strings.NewReader(dump), d, func(stmt string) error {
		n++
		if err := checkSnapshotStatement(d, stmt, fed); err != nil {
			return fmt.Errorf("%w: statement %d: %w", ErrBadSnapshot, n, err)
		}
		return nil
	})
	if err != nil && !errors.Is(err, ErrBadSnapshot) {
		return fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	return err
}

func checkSnapshotStatement(d sqlcheck.Dialect, stmt string, fed Tables) error {
	toks, err := sqlcheck.Lex(d, stmt)
	if err != nil {
		return err
	}
	if len(toks) > 0 && toks[len(toks)-1].Kind == sqlcheck.TokSemicolon {
		toks = toks[:len(toks)-1]
	}
	word := func(i int) string {
		if i < len(toks) && toks[i].Kind == sqlcheck.TokIdent {
			return strings.ToUpper(toks[i].Value)
		}
		return ""
	}
	table := func(i int) error {
		if i >= len(toks) || (toks[i].Kind != sqlcheck.TokIdent && toks[i].Kind != sqlcheck.TokQuotedIdent) {
			return errors.New("no table name where one belongs")
		}
		if name := strings.ToLower(toks[i].Value); !fed[name] {
			return fmt.Errorf("table %s is not federated", name)
		}
		return nil
	}
	if word(0) != "INSERT" { // an INSERT's literals may hold any text; its names are checked below
		if err := sqlcheck.RefuseReserved(d, stmt, sqlcheck.ReservedPrefix); err != nil {
			return err
		}
	}
	switch {
	case word(0) == "SET" && d == sqlcheck.MySQL:
		var b strings.Builder
		for _, t := range toks {
			b.WriteString(strings.ToUpper(t.Value))
		}
		if compact := b.String(); mysqlSessionSets[compact] || mysqlSessionSets[quoteBack(compact)] {
			return nil
		}
		return fmt.Errorf("a SET that backup does not write: %.80s", stmt)
	case word(0) == "DROP" && word(1) == "TABLE" && word(2) == "IF" && word(3) == "EXISTS" && len(toks) == 5:
		return table(4)
	case word(0) == "CREATE" && word(1) == "TABLE":
		return table(2)
	case word(0) == "CREATE" && word(1) == "INDEX", word(0) == "CREATE" && word(1) == "UNIQUE" && word(2) == "INDEX":
		for i := range toks {
			if word(i) == "ON" {
				return table(i + 1)
			}
		}
		return errors.New("an index on no table")
	case word(0) == "INSERT" && word(1) == "INTO":
		if err := table(2); err != nil {
			return err
		}
		i := 3
		for ; i < len(toks) && word(i) != "VALUES"; i++ { // the column list: names and punctuation
			switch k := toks[i].Kind; {
			case k == sqlcheck.TokIdent, k == sqlcheck.TokQuotedIdent:
				if strings.HasPrefix(strings.ToLower(toks[i].Value), sqlcheck.ReservedPrefix) {
					return fmt.Errorf("column %s", toks[i].Value)
				}
			case k == sqlcheck.TokPunct && (toks[i].Value == "(" || toks[i].Value == ")" || toks[i].Value == ","):
			default:
				return fmt.Errorf("an INSERT column list holds %q", toks[i].Value)
			}
		}
		if i == len(toks) {
			return errors.New("an INSERT without VALUES")
		}
		for _, t := range toks[i+1:] {
			switch t.Kind {
			case sqlcheck.TokString, sqlcheck.TokNumber, sqlcheck.TokBlob:
			case sqlcheck.TokPunct:
				if t.Value != "(" && t.Value != ")" && t.Value != "," && t.Value != "-" {
					return fmt.Errorf("an INSERT value holds %q: only literals are allowed", t.Value)
				}
			case sqlcheck.TokIdent:
				if u := strings.ToUpper(t.Value); u != "NULL" && u != "TRUE" && u != "FALSE" {
					return fmt.Errorf("an INSERT value holds %s: only literals are allowed", t.Value)
				}
			default:
				return fmt.Errorf("an INSERT value holds a %v: only literals are allowed", t.Kind)
			}
		}
		return nil
	}
	return fmt.Errorf("a statement a snapshot does not hold: %.80s", stmt)
}

// quoteBack: the lexer may hand a string literal without its quotes.
func quoteBack(s string) string {
	for _, v := range []string{"+00:00", "NO_AUTO_VALUE_ON_ZERO"} {
		s = strings.Replace(s, "="+v, "='"+v+"'", 1)
	}
	return s
}
