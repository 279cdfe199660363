package sqlcheck

import "strings"

// ReservedPrefix starts the name of every table OneHA keeps for itself in
// the replicated database: the applied index (oneha_applied), the zone
// tables (oneha_zone, oneha_server) and reset tokens (oneha_server_reset).
const ReservedPrefix = "oneha_"

// RefuseReserved refuses sql if any identifier in it, bare or quoted
// (`x`, "x" and [x] in SQLite), schema-qualified or not, begins with prefix,
// compared case-insensitively. It reads every token of the text, so a name
// in a trigger or view body, a subquery, a CTE, a foreign key or a RENAME
// counts as well. In MySQL a string literal ('oneha_x') is data, not a
// name, and is accepted. SQLite reads a single-quoted string as a name
// wherever its grammar expects one (DELETE FROM 'oneha_applied', FROM t,
// 'x', IN 'x'), so there such literals are refused too; pass the value as
// a parameter instead. Malformed text returns Lex's error.
//
// Its verdict depends on d and sql alone (oned caches the texts that pass,
// oned/reserved.go): keep it free of schema, settings and state.
//
// It is a rule for client statements only: OneHA's own writers name these
// tables through the same apply path. Any identifier with the prefix is
// refused (a column or alias too), which keeps the rule independent of
// where a grammar puts table names.
func RefuseReserved(d Dialect, sql, prefix string) error {
	if prefix == "" {
		return nil
	}
	prefix = strings.ToLower(prefix)
	var found string
	err := eachName(d, sql, func(name string) bool {
		if strings.HasPrefix(name, prefix) {
			found = name
			return false
		}
		return true
	})
	if err != nil {
		return err
	}
	if found != "" {
		return &UnsafeError{
			Construct: "table " + found,
			Reason:    "it is OneHA's own table; clients cannot write it",
		}
	}
	return nil
}

// eachName calls fn with each lowercased token of sql that can name a
// table (see Names) until fn returns false. It builds no list: it is on
// every write's path (RefuseReserved: as many allocations as before Names
// existed, 10 for a two-column INSERT).
func eachName(d Dialect, sql string, fn func(name string) bool) error {
	toks, err := Lex(d, sql)
	if err != nil {
		return err
	}
	for _, t := range toks {
		switch {
		case t.Kind == TokIdent, t.Kind == TokQuotedIdent:
		case t.Kind == TokString && d == SQLite:
		default:
			continue
		}
		if !fn(strings.ToLower(t.Value)) {
			return nil
		}
	}
	return nil
}

// Names returns, lowercased and in order, every token of sql that can name
// a table: bare and quoted identifiers (keywords included), and in SQLite
// single-quoted strings too (see RefuseReserved). A schema-qualified name
// yields its parts. It over-approximates on purpose: callers intersect it
// with a set of table names (federation's classification), so a column
// that shares a table's name counts as naming that table. Malformed text
// returns Lex's error.
func Names(d Dialect, sql string) ([]string, error) {
	var out []string
	err := eachName(d, sql, func(name string) bool {
		out = append(out, name)
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
