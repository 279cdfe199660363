// Package sqlcheck decides which SQL statements may enter OneHA's replicated
// log. It is the security boundary that keeps replicas identical: the leader
// checks every write with CheckWrite before it is appended, and every read
// with CheckRead before Query runs it. The package is pure: it lexes and
// reads SQL text, and asks schema questions only through SchemaInfo, which
// the caller answers from its own database. It never touches a database.
//
// A statement is accepted only if it gives the same result on every server
// that applies it to the same data, with the session the apply connection
// pins (sql_mode, time zone, timestamp and RAND seeds bound per entry on
// MySQL/MariaDB; on SQLite the apply connection's VFS clock and per-entry
// random source, bound by sqlfsm).
// Anything the checks cannot read with certainty is refused: the refusal is
// an *UnsafeError (errors.Is ErrUnsafe) naming the construct and the reason.
//
// Refused in writes, with the reason (refused.go holds the tables):
//
//   - Statements other than INSERT, REPLACE, UPDATE, DELETE (optionally after
//     WITH) and CREATE/ALTER/DROP/RENAME/TRUNCATE of tables, indexes, views and
//     triggers: transactions (BEGIN, COMMIT, ...), session and server control
//     (SET, USE, FLUSH, KILL, PRAGMA, ATTACH, ...), accounts (GRANT, CREATE
//     USER), stored code (CALL, CREATE PROCEDURE/FUNCTION/EVENT), reads.
//     One SQL text holds exactly one statement.
//   - Functions whose value differs per server or per connection: UUID(),
//     SYSDATE(), USER(), CONNECTION_ID(), LAST_INSERT_ROWID(), VERSION(),
//     DATABASE(), sequences, locks (GET_LOCK()), timing (SLEEP()), files
//     (LOAD_FILE(), INTO OUTFILE), stored functions (db.f()), and MySQL
//     MATCH ... AGAINST (relevance follows each server's full-text index
//     state).
//   - System variables (@@x) and user variables (@x).
//   - Database-qualified names (db.t): they escape the replicated database.
//   - System schemas (sysschema.go): information_schema, performance_schema,
//     mysql and sys, named anywhere in a write (parenthesized, quoted, in
//     joins, subqueries, CTEs, views, CREATE TABLE ... LIKE, triggers):
//     they hold ports, thread ids and counters that differ per server. On
//     SQLite, sqlite_master/sqlite_schema, sqlite_stat*, dbstat,
//     sqlite_dbpage and pragma_* functions: they describe each server's file.
//   - MySQL executable comments (/*! ... */), which would run code the checks
//     saw as a comment.
//   - Row-order dependence: INSERT IGNORE/REPLACE/ON DUPLICATE KEY UPDATE ...
//     SELECT, INSERT ... SELECT into an auto-increment table, ON DUPLICATE
//     KEY UPDATE on a table with two or more unique keys, UPDATE IGNORE,
//     ALTER IGNORE, CREATE TABLE ... SELECT.
//   - Row limits (limit.go): LIMIT, OFFSET n ROWS and FETCH FIRST are
//     accepted only when the ORDER BY of their query level covers, as plain
//     columns, a unique key (PRIMARY KEY or NOT NULL UNIQUE) of its single
//     table; joins, derived tables, UNION, GROUP BY and trigger bodies with
//     a limit are refused.
//   - Timing dependence: NOWAIT, SKIP LOCKED, WAIT n.
//   - DDL: TEMPORARY objects (connection state), DEFINER (accounts differ),
//     TABLESPACE, DATA/INDEX DIRECTORY; any engine but InnoDB (ENGINE=,
//     TYPE=, [STORAGE] ENGINE in partitions, SEQUENCE= tables; CREATE TABLE
//     ... LIKE a system table falls under the system-schema rule); system
//     versioning by transaction id (versioning.go: AS ROW START/END on a
//     non-TIMESTAMP column, FOR SYSTEM_TIME ... TRANSACTION); in trigger
//     bodies, stored-code calls, transaction or session control and SET of
//     anything but NEW.col or a DECLAREd variable; on SQLite, clock or
//     random functions in a definition (evaluated per server).
//
// RefuseReserved is a separate rule for client statements only: it refuses
// any identifier beginning with a reserved prefix (ReservedPrefix, "oneha_":
// OneHA's own tables), wherever it appears; OneHA's own writers do not pass
// through it.
//
// Reads refuse writes (ErrNotReadOnly), locking reads (FOR UPDATE, LOCK IN
// SHARE MODE: they block the apply path) and functions with side effects.
// Reads may use system schemas, clocks and MATCH: their result is not
// replicated.
package sqlcheck
