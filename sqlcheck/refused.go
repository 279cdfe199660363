package sqlcheck

// Reasons shared by several refusals.
const (
	reasonPerServer   = "returns a different value on every server"
	reasonAccount     = "depends on the connection's account, which can differ between servers"
	reasonConnState   = "reads connection state that is not part of the log entry"
	reasonLocks       = "takes or inspects server-local locks"
	reasonTiming      = "depends on timing and blocks the apply path"
	reasonSequence    = "sequence state is not bound by the entry's context"
	reasonStoredCode  = "stored code can hide statements the checks cannot see"
	reasonDBQualified = "database-qualified names escape the replicated database"
	reasonRead        = "reads go through one.sql.query"
	reasonTxn         = "transactions are managed by the log: one entry is one transaction"
	reasonSession     = "session settings are pinned by the apply connection and identical on every server"
	reasonServer      = "administers the local server, not the replicated data"
	reasonServerState = "reports the local server's replication state"
	reasonRowOrder    = "its result follows the order rows arrive in, which depends on each server's plan"
	reasonPeers       = "picks among rows its window's ORDER BY leaves tied, which each server's plan breaks differently"
	reasonSQLiteClock = "in a definition it is evaluated by each server at its own time (or randomly); insert the value explicitly instead"
)

// unsafeFuncs are functions refused in writes, both dialects, keyed by
// upper-cased name.
var unsafeFuncs = map[string]string{
	"UUID":              reasonPerServer,
	"UUID_SHORT":        reasonPerServer,
	"SYS_GUID":          reasonPerServer,
	"RANDOM_BYTES":      reasonPerServer,
	"SYSDATE":           "ignores the entry's timestamp (use NOW())",
	"USER":              reasonAccount,
	"CURRENT_USER":      reasonAccount,
	"SESSION_USER":      reasonAccount,
	"SYSTEM_USER":       reasonAccount,
	"CURRENT_ROLE":      reasonAccount,
	"CONNECTION_ID":     reasonConnState,
	"FOUND_ROWS":        reasonConnState,
	"ROW_COUNT":         reasonConnState,
	"LOAD_FILE":         "reads a file from the server's disk",
	"GET_LOCK":          reasonLocks,
	"RELEASE_LOCK":      reasonLocks,
	"RELEASE_ALL_LOCKS": reasonLocks,
	"IS_FREE_LOCK":      reasonLocks,
	"IS_USED_LOCK":      reasonLocks,
	"SLEEP":             reasonTiming,
	"BENCHMARK":         reasonTiming,
	"MASTER_POS_WAIT":   reasonTiming,
	"SOURCE_POS_WAIT":   reasonTiming,
	"MASTER_GTID_WAIT":  reasonTiming,
	"DATABASE":          "database names can differ between servers",
	"SCHEMA":            "database names can differ between servers",
	"VERSION":           "server versions can differ",
	"NEXTVAL":           reasonSequence,
	"LASTVAL":           reasonSequence,
	"SETVAL":            reasonSequence,
	// Found reviewing for issue 10.
	"ENCRYPT":                   "draws a random salt when none is given",
	"DES_ENCRYPT":               "reads each server's own key file",
	"DES_DECRYPT":               "reads each server's own key file",
	"BINLOG_GTID_POS":           reasonServerState,
	"WSREP_LAST_SEEN_GTID":      reasonServerState,
	"WSREP_LAST_WRITTEN_GTID":   reasonServerState,
	"WSREP_SYNC_WAIT_UPTO_GTID": reasonTiming,
	"PS_CURRENT_THREAD_ID":      reasonConnState,
	"PS_THREAD_ID":              reasonConnState,
	"ICU_VERSION":               "server versions can differ",
	"ROWNUM":                    reasonRowOrder,
	"GROUP_CONCAT":              reasonRowOrder,
	"JSON_ARRAYAGG":             reasonRowOrder,
	"JSON_OBJECTAGG":            reasonRowOrder,
	"STRING_AGG":                reasonRowOrder,
	"LISTAGG":                   reasonRowOrder,
	"JSON_GROUP_ARRAY":          reasonRowOrder,
	"JSON_GROUP_OBJECT":         reasonRowOrder,
	"ROW_NUMBER":                reasonPeers,
	"FIRST_VALUE":               reasonPeers,
	"LAST_VALUE":                reasonPeers,
	"NTH_VALUE":                 reasonPeers,
	"LAG":                       reasonPeers,
	"LEAD":                      reasonPeers,
	"NTILE":                     reasonPeers,
}

// sqliteUnsafeFuncs are additionally refused in SQLite writes.
var sqliteUnsafeFuncs = map[string]string{
	"CHANGES":                   reasonConnState,
	"TOTAL_CHANGES":             reasonConnState,
	"LAST_INSERT_ROWID":         reasonConnState,
	"SQLITE_VERSION":            "server versions can differ",
	"SQLITE_SOURCE_ID":          "server versions can differ",
	"LOAD_EXTENSION":            "loads code from the server's disk",
	"SQLITE_OFFSET":             "returns the row's byte offset in each server's file",
	"SQLITE_COMPILEOPTION_GET":  "server builds can differ",
	"SQLITE_COMPILEOPTION_USED": "server builds can differ",
}

// readUnsafeFuncs are refused even in reads: they change state or block.
var readUnsafeFuncs = map[string]string{
	"GET_LOCK":          reasonLocks,
	"RELEASE_LOCK":      reasonLocks,
	"RELEASE_ALL_LOCKS": reasonLocks,
	"LOAD_FILE":         "reads a file from the server's disk",
	"SLEEP":             reasonTiming,
	"BENCHMARK":         reasonTiming,
	"MASTER_POS_WAIT":   reasonTiming,
	"SOURCE_POS_WAIT":   reasonTiming,
	"MASTER_GTID_WAIT":  reasonTiming,
	"NEXTVAL":           "advances a sequence",
	"SETVAL":            "changes a sequence",
	"LOAD_EXTENSION":    "loads code from the server's disk",
}

// sqliteDateFuncs are SQLite's date and time functions; 'now' (or a missing
// time value) makes them read the server clock.
var sqliteDateFuncs = map[string]bool{
	"DATE": true, "TIME": true, "DATETIME": true, "JULIANDAY": true,
	"STRFTIME": true, "UNIXEPOCH": true, "TIMEDIFF": true,
}

// refusedVerbs gives the reason for leading keywords that never enter the
// log. Any leading keyword not handled by CheckWrite is refused as well, with
// a generic reason.
var refusedVerbs = map[string]string{
	"BEGIN": reasonTxn, "START": reasonTxn, "COMMIT": reasonTxn, "ROLLBACK": reasonTxn,
	"SAVEPOINT": reasonTxn, "RELEASE": reasonTxn, "END": reasonTxn, "XA": reasonTxn,
	"LOCK": "table locks are server-local", "UNLOCK": "table locks are server-local",
	"SET": reasonSession, "USE": reasonDBQualified,
	"FLUSH": reasonServer, "KILL": reasonServer, "SHUTDOWN": reasonServer, "RESTART": reasonServer,
	"INSTALL": reasonServer, "UNINSTALL": reasonServer, "RESET": reasonServer, "PURGE": reasonServer,
	"CHANGE": reasonServer, "BINLOG": reasonServer, "CACHE": reasonServer, "CLONE": reasonServer,
	"GRANT": "accounts and privileges are per server", "REVOKE": "accounts and privileges are per server",
	"LOAD":    "reads a file from the server's or client's disk",
	"HANDLER": "handler cursors are connection state", "DO": reasonRead,
	"CALL": reasonStoredCode, "PREPARE": "prepared statements are connection state",
	"EXECUTE": "prepared statements are connection state", "DEALLOCATE": "prepared statements are connection state",
	"OPTIMIZE": reasonServer, "ANALYZE": "statistics are per server and change query plans",
	"REPAIR": reasonServer, "CHECK": reasonServer, "CHECKSUM": reasonServer, "HELP": reasonRead,
	"SHOW": reasonRead, "EXPLAIN": reasonRead, "DESCRIBE": reasonRead, "DESC": reasonRead,
	"SELECT": reasonRead, "TABLE": reasonRead, "VALUES": reasonRead,
	"ATTACH": reasonDBQualified, "DETACH": reasonDBQualified, "PRAGMA": reasonSession,
	"VACUUM": reasonServer, "REINDEX": reasonServer,
	"SIGNAL": reasonStoredCode, "RESIGNAL": reasonStoredCode, "GET": reasonConnState,
	"IMPORT": "reads files from the server's disk", "BACKUP": reasonServer,
}

// bodyRefused are statement keywords refused inside a trigger body.
var bodyRefused = map[string]bool{
	"CALL": true, "PREPARE": true, "EXECUTE": true, "DEALLOCATE": true, "DO": true, "LOAD": true,
	"HANDLER": true, "LOCK": true, "UNLOCK": true, "START": true, "COMMIT": true, "ROLLBACK": true,
	"SAVEPOINT": true, "RELEASE": true, "XA": true, "FLUSH": true, "KILL": true, "GRANT": true,
	"REVOKE": true, "USE": true, "CREATE": true, "DROP": true, "ALTER": true, "RENAME": true, "TRUNCATE": true,
	"ANALYZE": true, "OPTIMIZE": true, "REPAIR": true, "INSTALL": true, "UNINSTALL": true, "RESET": true,
	"PURGE": true, "CHANGE": true, "SHUTDOWN": true,
}
