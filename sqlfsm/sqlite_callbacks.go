package sqlfsm

import (
	"math"
	gounsafe "unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// The functions below are called by SQLite (transpiled to Go) through C
// function pointers. Each finds the session block from the pointer SQLite
// passes (the VFS, the progress handler's or the function's user data) and
// touches it only through libc's uintptr atomics.

// cFunc returns f as a C function pointer. f must be a top-level function
// (a closure's memory would not be kept alive by SQLite's copy).
func cFunc[T any](f T) uintptr { return *(*uintptr)(gounsafe.Pointer(&struct{ f T }{f})) }

// setPtr stores v at p in C memory.
func setPtr(p, v uintptr) { libc.AtomicStoreNUintptr(p, v, 0) }

// vfsCurrentTimeInt64 is xCurrentTimeInt64: the entry's time as a Julian day
// in milliseconds.
func vfsCurrentTimeInt64(_ *libc.TLS, pVfs, pOut uintptr) int32 {
	libc.AtomicStoreNInt64(pOut, libc.AtomicLoadNInt64(pVfs+vfsSize+blkTime, 0), 0)
	return sqlite3.SQLITE_OK
}

// vfsCurrentTime is xCurrentTime: the entry's time as a fractional Julian
// day (SQLite uses it only for VFSes older than version 2).
func vfsCurrentTime(_ *libc.TLS, pVfs, pOut uintptr) int32 {
	ms := libc.AtomicLoadNInt64(pVfs+vfsSize+blkTime, 0)
	libc.AtomicStoreNUint64(pOut, math.Float64bits(float64(ms)/86400000.0), 0)
	return sqlite3.SQLITE_OK
}

// progressBudget is the progress handler: called every progressEvery VM
// instructions, it stops the statement (non-zero) once the FSM closes or
// the statement has used its budget.
func progressBudget(_ *libc.TLS, b uintptr) int32 {
	if libc.AtomicLoadNInt32(b+blkStop, 0) != 0 {
		return 1
	}
	n := libc.AtomicLoadNInt64(b+blkCalls, 0) + 1
	libc.AtomicStoreNInt64(b+blkCalls, n, 0)
	if n >= libc.AtomicLoadNInt64(b+blkLimit, 0) {
		libc.AtomicStoreNInt32(b+blkExceeded, 1, 0)
		return 1
	}
	return 0
}

// preupdateRowid is the pre-update hook: it flags a write that would store
// rowid MaxInt64 (see sqliteSession).
func preupdateRowid(_ *libc.TLS, b, _ uintptr, op int32, _, _ uintptr, _, newKey int64) {
	if (op == sqlite3.SQLITE_INSERT || op == sqlite3.SQLITE_UPDATE) && newKey == math.MaxInt64 {
		libc.AtomicStoreNInt32(b+blkRowidMax, 1, 0)
	}
}

// nextRandom advances the block's generator (SplitMix64) and returns its
// next value.
func nextRandom(b uintptr) uint64 {
	s := libc.AtomicLoadNUint64(b+blkRand, 0) + 0x9e3779b97f4a7c15
	libc.AtomicStoreNUint64(b+blkRand, s, 0)
	z := s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// sqlRandom replaces random(): a signed 64-bit value from the entry's
// generator.
func sqlRandom(tls *libc.TLS, ctx uintptr, _ int32, _ uintptr) {
	sqlite3.Xsqlite3_result_int64(tls, ctx, int64(nextRandom(sqlite3.Xsqlite3_user_data(tls, ctx))))
}

// sqlRandomblob replaces randomblob(N): max(N, 1) bytes from the entry's
// generator, refused like SQLite's own beyond the connection's length limit.
func sqlRandomblob(tls *libc.TLS, ctx uintptr, _ int32, argv uintptr) {
	n := sqlite3.Xsqlite3_value_int64(tls, libc.AtomicLoadNUintptr(argv, 0))
	if n < 1 {
		n = 1
	}
	db := sqlite3.Xsqlite3_context_db_handle(tls, ctx)
	if n > int64(sqlite3.Xsqlite3_limit(tls, db, sqlite3.SQLITE_LIMIT_LENGTH, -1)) {
		sqlite3.Xsqlite3_result_error_toobig(tls, ctx)
		return
	}
	words := (n + 7) / 8
	p := sqlite3.Xsqlite3_malloc64(tls, uint64(words*8))
	if p == 0 {
		sqlite3.Xsqlite3_result_error_nomem(tls, ctx)
		return
	}
	b := sqlite3.Xsqlite3_user_data(tls, ctx)
	for i := int64(0); i < words; i++ {
		libc.AtomicStoreNUint64(p+uintptr(i*8), nextRandom(b), 0)
	}
	sqlite3.Xsqlite3_result_blob64(tls, ctx, p, uint64(n), cFunc(sqlite3.Xsqlite3_free))
}
