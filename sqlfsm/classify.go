package sqlfsm

import (
	"errors"
	"strings"

	"github.com/go-sql-driver/mysql"
	"modernc.org/sqlite"
)

// errClass says whether an apply error is part of the entry's result or a
// fault of this server that must be retried.
type errClass uint8

const (
	// transient: retry the whole batch; never skip the entry (I5).
	transient errClass = iota
	// deterministic: every server with the same state gets the same error.
	deterministic
)

// mysqlDeterministic lists MySQL/MariaDB error numbers that depend only on
// the statement and the database contents. Anything not listed is treated as
// transient: an unknown error stalls the server rather than diverging it.
var mysqlDeterministic = map[uint16]bool{
	1022: true, // duplicate key on write or update
	1048: true, // column cannot be null
	1050: true, // table already exists
	1051: true, // unknown table
	1052: true, // column is ambiguous
	1054: true, // unknown column
	1060: true, // duplicate column name
	1061: true, // duplicate key name
	1062: true, // duplicate entry
	1064: true, // syntax error
	1068: true, // multiple primary key defined
	1072: true, // key column doesn't exist
	1075: true, // incorrect table definition (auto column must be a key)
	1091: true, // can't drop; check that it exists
	1093: true, // can't specify target table for update in FROM clause
	1109: true, // unknown table in multi delete
	1110: true, // column specified twice
	1111: true, // invalid use of group function
	1113: true, // a table must have at least 1 column
	1136: true, // column count doesn't match value count
	1146: true, // table doesn't exist
	1149: true, // syntax error (old form)
	1166: true, // incorrect column name
	1170: true, // BLOB/TEXT column used in key without length
	1171: true, // all parts of a PRIMARY KEY must be NOT NULL
	1215: true, // cannot add foreign key constraint
	1216: true, // foreign key: cannot add child row
	1217: true, // foreign key: cannot delete parent row
	1222: true, // different number of columns in SELECTs
	1241: true, // operand should contain N column(s)
	1242: true, // subquery returns more than 1 row
	1264: true, // out of range value
	1265: true, // data truncated
	1292: true, // truncated incorrect value
	1305: true, // function/procedure does not exist
	1364: true, // field doesn't have a default value
	1365: true, // division by 0
	1366: true, // incorrect value for column
	1406: true, // data too long
	1451: true, // foreign key: cannot delete or update a parent row
	1452: true, // foreign key: cannot add or update a child row
	1553: true, // cannot drop index needed in a foreign key constraint
	1582: true, // incorrect parameter count in call to native function
	1583: true, // incorrect parameters in call to native function
	1630: true, // function does not exist (with hint)
	1644: true, // SIGNAL: user-defined error raised by a trigger
	1690: true, // value is out of range
	1701: true, // cannot truncate a table referenced in a foreign key
	1824: true, // failed to open the referenced table
	1826: true, // duplicate foreign key constraint name
	1828: true, // cannot drop column needed in a foreign key
	3140: true, // invalid JSON text
	3819: true, // check constraint violated (MySQL)
	4025: true, // check constraint failed (MariaDB)
	4078: true, // illegal parameter data types for operation
}

// classifyMySQL sorts an apply error.
func classifyMySQL(err error) errClass {
	var me *mysql.MySQLError
	if errors.As(err, &me) && mysqlDeterministic[me.Number] {
		return deterministic
	}
	// 1931 is also LIMIT ROWS EXAMINED, whose count depends on the plan;
	// only the recursion bound (pinned, see mysqlPins) ends every server's
	// run at the same iteration.
	if me != nil && me.Number == 1931 && strings.Contains(me.Message, "max_recursive_iterations") {
		return deterministic
	}
	return transient
}

// SQLite primary result codes that depend only on the statement and data.
const (
	sqliteError      = 1  // SQL error or missing database (syntax, no such table/column)
	sqliteTooBig     = 18 // string or blob too big
	sqliteConstraint = 19 // constraint violation
	sqliteMismatch   = 20 // data type mismatch
	sqliteRange      = 25 // bind parameter out of range
)

func classifySQLite(err error) errClass {
	var le *limitError
	if errors.As(err, &le) {
		return deterministic
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return transient
	}
	switch se.Code() & 0xff {
	case sqliteError, sqliteTooBig, sqliteConstraint, sqliteMismatch, sqliteRange:
		return deterministic
	}
	return transient
}

// sqlErrorCode extracts the backend's error number for a *SQLError.
func sqlErrorCode(err error) (int, string) {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return int(me.Number), me.Message
	}
	var le *limitError
	if errors.As(err, &le) {
		return le.code, le.msg
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code(), se.Error()
	}
	return 0, err.Error()
}
