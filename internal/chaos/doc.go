// Package chaos is OneHA's nemesis suite: real oned processes in a
// network-namespace lab, concurrent clients running a register workload
// through one.sql.exec and one.sql.query (strong), and a nemesis that
// injects one fault type per phase — SIGKILL of the leader or a follower,
// SIGSTOP/SIGCONT, partitions (isolated leader, minority follower,
// majority/minority split, bridge), a follower's mariadbd killed and
// restarted (the follower must report itself degraded, then catch up),
// planned leadership transfers (onezone leader-transfer), a graceful
// SIGTERM of the leader, and every process of the zone killed at once
// (power loss).
//
// Each phase works on its own keys of the table reg (k, v), so every phase's
// history is checked on its own with porcupine (partitioned by key).
// Outcomes follow etcd's robustness tests: a write whose answer was lost
// (timeout, connection reset, "outcome unknown") may or may not have
// happened, so it is kept with a return time at the end of the history; a
// write that definitely failed (connection refused, SQL error, no leader)
// is dropped, and so is a read without an answer. Every write transaction
// also inserts its unique id into the insert-only table audit: after
// healing, every acknowledged id must be on every server (lost = 0), no
// definitely failed id may be anywhere, and every replica's database must
// have the same checksum.
//
// TestChaosShort (3 servers, SQLite, about 70 s) runs with the other
// tests; TestChaosLong (3 servers with a mariadbd per host, then 5 servers
// on SQLite, every fault type) runs with ONEHA_CHAOS_LONG=1 (make chaos).
// Both need root (network namespaces). ONEHA_CHAOS_FAULTS="power loss,bridge"
// runs only the faults whose names contain one of the substrings. With
// ONEHA_RESULTS set the per-fault
// table is written to results/chaos.md; on a linearizability violation
// porcupine's HTML visualisation is written and its path reported.
package chaos
