// Package sqlfsm defines what a OneHA log entry is and how it is applied.
//
// An entry is one SQL transaction: a list of statements with typed positional
// parameters plus the context the leader chose for it (a timestamp with
// microseconds and two RAND seeds). The leader checks every statement (with
// package sqlcheck, plus the per-entry rules of CheckEntry) before
// the entry is appended (determinism, DDL alone in its entry), encodes it with
// a versioned binary codec and hands it to the Raft log. Every server's FSM
// then applies committed entries in log order:
//
//   - exactly once: the applied index and term live in a table of the same
//     database and change in the same DB transaction as the entry;
//   - in batches: a batch of entries is one DB transaction with a savepoint per
//     entry, so a failing entry rolls back alone;
//   - deterministically: session context (timestamp, seeds) is set before an
//     entry runs on MySQL/MariaDB; on SQLite the FSM's own apply connection
//     reads the entry's time from its VFS, draws random() from the entry's
//     seeds and stops a statement past its instruction budget;
//   - with two error classes: a deterministic SQL error is the entry's result
//     (identical everywhere, the entry counts as applied), a transient fault is
//     retried forever with backoff and never skips an entry;
//   - audited: every applied entry's outcome is recorded (Outcomes) and
//     every Config.AuditInterval entries the tables are checksummed at
//     exactly that index on every server (Audits), so oned's leader can
//     name a replica that diverged, the entry or the table (audit.go);
//   - idempotent on request: an entry carrying a Request (scope, id) is
//     looked up in RequestTable in its own transaction; a repeat applies
//     nothing and answers the first result, pruning by the entry's time
//     and index only (request.go).
//
// Reads run at three consistency levels (stale, default, strong); see read.go.
package sqlfsm
