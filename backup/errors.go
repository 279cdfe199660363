package backup

import "errors"

// Sentinel errors; match them with errors.Is.
var (
	// ErrNotDump: the input does not start with a OneHA dump header.
	ErrNotDump = errors.New("backup: not a OneHA dump")
	// ErrVersion: the dump's format version is not supported.
	ErrVersion = errors.New("backup: unsupported dump version")
	// ErrDialect: an unknown dialect was asked for or found in a header.
	ErrDialect = errors.New("backup: unknown dialect")
	// ErrDialectMismatch: Load was given a dump of another dialect.
	ErrDialectMismatch = errors.New("backup: dump is of another dialect")
	// ErrTruncated: the dump ends before its end line (or inside a statement).
	ErrTruncated = errors.New("backup: dump truncated")
	// ErrCorrupt: the dump's length or checksum does not match its end line.
	ErrCorrupt = errors.New("backup: dump corrupt")
	// ErrStatementTooLarge: a statement exceeds the loader's size limit.
	ErrStatementTooLarge = errors.New("backup: statement too large")
	// ErrSchemaChanged: a table changed (DDL) between Begin and Write; take
	// a new snapshot.
	ErrSchemaChanged = errors.New("backup: schema changed since Begin")
	// ErrUnsupported: the database holds an object the dump cannot carry.
	ErrUnsupported = errors.New("backup: unsupported object")
	// ErrNoDatabase: the MySQL connection has no current database.
	ErrNoDatabase = errors.New("backup: no database selected")
	// ErrTables: a dump of some tables only (Header.Only) was loaded as a
	// whole database, a whole-database dump as some tables, or a dump
	// holds a table the load does not replace.
	ErrTables = errors.New("backup: the dump's tables do not match the load")
	// ErrClosed: the Snapshot was used after Close.
	ErrClosed = errors.New("backup: snapshot closed")
)
