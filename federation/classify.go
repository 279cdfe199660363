package federation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/oneha/oneha/sqlcheck"
)

// Class is what a transaction is to the federation.
type Class int

const (
	// Local: names no federated table; it stays in its zone.
	Local Class = iota
	// Federated: every statement that names a table names only federated
	// ones; it goes through the master and reaches every zone.
	Federated
)

// ErrMixed: a transaction names federated and local tables, or defines a
// view or trigger over a federated table. Refused before it is logged.
var ErrMixed = errors.New("a transaction cannot mix federated and local tables")

// LocalTables lists the tables and views of the database (any case); it
// is called only for a transaction that names a federated table.
type LocalTables func(ctx context.Context) ([]string, error)

// Classify decides the class of a transaction of statements. A statement
// names a table when one of its identifiers equals the table's name
// (sqlcheck.Names: an over-approximation, so a column that shares a local
// table's name makes a federated statement "mixed": the error says so).
// Statements that name no table at all go with either class. CREATE VIEW
// and CREATE TRIGGER that name a federated table are refused: a later
// write naming only the view, or a local table, would change federated
// rows in one zone only.
func Classify(ctx context.Context, d sqlcheck.Dialect, stmts []string, fed Tables, local LocalTables) (Class, error) {
	names := make([][]string, len(stmts))
	anyFed := false
	for i, q := range stmts {
		n, err := sqlcheck.Names(d, q)
		if err != nil {
			return Local, fmt.Errorf("statement %d: %w", i, err)
		}
		names[i] = n
		for _, x := range n {
			if fed[x] {
				anyFed = true
			}
		}
	}
	if !anyFed {
		return Local, nil
	}
	list, err := local(ctx)
	if err != nil {
		return Local, fmt.Errorf("federation: list tables: %w", err)
	}
	tables := make(map[string]bool, len(list))
	for _, t := range list {
		if t = strings.ToLower(t); !fed[t] {
			tables[t] = true
		}
	}
	for i, n := range names {
		var fedHit, localHit string
		defines := false
		for j, x := range n {
			switch {
			case fed[x]:
				if fedHit == "" {
					fedHit = x
				}
			case tables[x]:
				if localHit == "" {
					localHit = x
				}
			case (x == "view" || x == "trigger") && j > 0 && startsCreate(n):
				defines = true
			}
		}
		if fedHit != "" && isDDL(n) {
			distinct := map[string]bool{}
			for _, x := range n {
				if fed[x] {
					distinct[x] = true
				}
			}
			if len(distinct) > 1 {
				// MySQL runs such DDL object by object and may stop half
				// way (DROP TABLE a, b with b missing drops a, then
				// fails): it would change the master's tables and take
				// no federation index.
				return Local, fmt.Errorf("%w: statement %d is DDL naming %d federated tables; a federated DDL statement names one", ErrMixed, i, len(distinct))
			}
		}
		switch {
		case fedHit != "" && localHit != "":
			return Local, fmt.Errorf("%w: statement %d names federated table %s and local table %s; run them as separate transactions", ErrMixed, i, fedHit, localHit)
		case fedHit != "" && defines:
			return Local, fmt.Errorf("%w: statement %d defines a view or trigger over federated table %s", ErrMixed, i, fedHit)
		case localHit != "":
			return Local, fmt.Errorf("%w: statement %d names local table %s, another names a federated table", ErrMixed, i, localHit)
		}
	}
	// Every statement names federated tables or none; one that names a
	// table unknown here (a new local table being created, say) is not
	// local yet: statement i names only federated and unknown names.
	for i, n := range names {
		hasFed := false
		for _, x := range n {
			hasFed = hasFed || fed[x]
		}
		if !hasFed && startsCreate(n) {
			return Local, fmt.Errorf("%w: statement %d creates a table or object that is not federated, another names a federated table", ErrMixed, i)
		}
	}
	return Federated, nil
}

// isDDL: the statement's first word starts DDL.
func isDDL(names []string) bool {
	if len(names) == 0 {
		return false
	}
	switch names[0] {
	case "create", "drop", "alter", "rename", "truncate":
		return true
	}
	return false
}

// startsCreate: the statement's first word is CREATE.
func startsCreate(names []string) bool { return len(names) > 0 && names[0] == "create" }
