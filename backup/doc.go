// Package backup takes consistent, streaming logical dumps of a OneHA
// database and loads them back, on MySQL/MariaDB and SQLite.
//
// Why logical dumps: they are OneHA's Raft snapshots (and onedb's backups).
// A snapshot must be taken while the FSM keeps applying writes, restore must
// work across server versions and hosts, and an operator must be able to
// read and load it with the stock client (mariadb db < dump.sql). A physical
// copy gives none of these.
//
// How: Begin opens a read view (MySQL: REPEATABLE READ, START TRANSACTION
// WITH CONSISTENT SNAPSHOT, READ ONLY on a dedicated connection; SQLite: a
// WAL read transaction) and captures the catalog and the applied index, all
// in a few queries, so it can run on the Raft FSM goroutine. Snapshot.Write
// later streams the rows of that view as SQL text while writes go on; they
// are never blocked (on SQLite that needs journal_mode=WAL).
//
// Invariants:
//   - a dump holds exactly the state at Begin, and its header carries the
//     applied index and term read in the same view;
//   - the Options.Last table (the applied index) is the last table in the
//     dump, and Load drops it first and writes it last: a Load that stops
//     half way leaves "applied index missing", i.e. a database behind every
//     snapshot, so the restore runs again;
//   - a dump is self-checking: its last line records its length and CRC-32C,
//     so Load reports a truncated or corrupted dump (ErrTruncated,
//     ErrCorrupt) instead of loading part of it silently;
//   - Load streams: memory is bounded by the largest statement (about
//     1 MiB for the multi-row INSERTs Write produces).
//
// Format: SQL text. The first line is
//
//	-- OneHA dump v1 dialect=<d> applied_index=<n> applied_term=<n> created=<RFC3339>
//
// then dialect-specific statements (see mysql.go and sqlite.go), then
//
//	-- OneHA dump end bytes=<n> crc32c=<8 hex digits>
//
// where bytes and crc32c cover everything before that line.
//
// Limits: MySQL triggers, routines, events and sequences are not dumped
// (OneHA's schema has none; a SEQUENCE makes Begin fail with
// ErrUnsupported). A DDL statement committed after Begin on a dumped table
// may make Write fail with ErrSchemaChanged; take the snapshot again.
// SQLite virtual tables make Begin fail with ErrUnsupported.
package backup
