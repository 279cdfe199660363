// Package raftlog runs the hashicorp/raft node of a OneHA server: the
// replicated log every SQL transaction goes through before any database
// applies it.
//
// # Design
//
// A Node wraps one *raft.Raft with: local log/stable stores (raft-wal by
// default, raft-boltdb as an option; both keep term and vote themselves)
// behind a raft.LogCache; a raft.FileSnapshotStore retaining 2 snapshots;
// raft's NetworkTransport over a stream layer (package mux: mutual TLS on
// the server's single port, ENDPOINT, shared with the XML-RPC server); and a
// persistent FSM (the database) that records the index it applied last.
//
// Raft's hclog output is adapted onto the caller's *slog.Logger
// (NewHCLogger). Leadership transitions reach subscribers in order without
// losing the latest one (Subscribe). There is no package-level mutable
// state.
//
// # Invariants
//
//   - Pre-vote is on: raft 1.8 enables it unless Config.PreVoteDisabled is
//     set or the transport lacks raft.WithPreVote; raftConfig leaves it
//     enabled and New refuses transports without pre-vote
//     (ErrPreVoteUnsupported).
//   - Persistent FSM (DESIGN.md): raft runs with NoSnapshotRestoreOnStart.
//     Before raft starts, New reads the applied index stored inside the
//     newest local snapshot (FSM.SnapshotAppliedIndex, not meta.Index:
//     trailing no-op/barrier entries must not force a restore) and restores
//     it only if the DB is behind. Raft replays the log after the snapshot
//     and the FSM skips entries <= its applied index: exactly once (I2).
//   - No accidental second cluster (I7): Bootstrap refuses existing raft
//     state (ErrExistingState), a DB that already applied entries
//     (ErrZoneExists) and whatever Config.BootstrapGuard refuses.
//   - A new leader serves nothing until it has applied every earlier-term
//     entry: after each election won a Barrier runs; WaitReady, LeaseRead
//     and ReadIndex wait for it in the current term.
//   - Strong reads (ReadIndex): commit index → leadership confirmed by a
//     quorum that answered AppendEntries sent after the read began (the ack
//     clock; VerifyLeader alone also counts answers to earlier sends, which
//     a paused leader receives late) → wait until the FSM (not merely raft's
//     dispatch counter) has applied it, woken by each apply. Default reads (LeaseRead): leader and ready; raft steps a
//     leader down after LeaderLease without quorum contact.
//   - Apply never reports "failed" for an entry that may commit: leadership
//     loss, shutdown or a caller deadline after enqueueing yield
//     ErrUnknownOutcome; *NotLeaderError means nothing was appended.
//   - A leader whose FSM reports Degraded for one ElectionTimeout transfers
//     leadership (I5). Shutdown of a leader transfers leadership first.
//   - Majority loss: Recover (offline) rewrites the configuration with
//     raft.RecoverCluster under the same persistent-FSM rule; ReadOffline
//     reads the configuration and log extent without touching the FSM.
//
// # Timeouts (defaults)
//
// ElectionTimeout 500 ms drives both raft HeartbeatTimeout and
// ElectionTimeout: a follower notices a dead leader after 0.5–1 s and
// pre-vote + vote take one more round, so failover is about 1 s (RAFT
// ELECTION_TIMEOUT_MS). When only the leader's process dies (host up), the
// death watch (deathwatch.go, Config.DeathWatch) sees its connections close
// and its port refuse and elects at once: tens of milliseconds. LeaderLease 250 ms (ElectionTimeout/2): a leader cut
// off from the quorum steps down well before a successor can be elected,
// which bounds the VIP overlap of I6. BroadcastTimeout 500 ms is the
// transport I/O deadline. CommitTimeout 50 ms only bounds how stale an idle
// follower is (the leader's own commit never waits for it); 5 ms cost an
// idle zone three times the CPU. MaxAppendEntries
// 512 with BatchApplyCh lets concurrent writers share one fsync.
//
// # Log store benchmark
//
// BenchmarkLogStore: StoreLogs of 200-byte entries with fsync, temp dir on
// the work disk (virtio disk, Go 1.26, 2 cores, linux/amd64; the machine
// was shared with other builds, so two runs at different load are shown):
//
//	store   batch   ns/op (load 6)  entries/s   ns/op (load 1)  entries/s
//	wal         1        365,714        2,735         191,692        5,217
//	wal        64        720,608       88,821         572,771      111,747
//	boltdb      1      2,082,630          480         652,021        1,534
//	boltdb     64      2,804,347       22,831       2,102,812       30,443
//
// raft-wal is 3.4–5.7x faster per fsync'd write, so LogStoreWAL is the default.
// raft-wal v0.4.0 does not close its meta DB in WAL.Close; this package owns
// and closes it (a reopen in the same process would otherwise hang).
package raftlog
