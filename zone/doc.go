// Package zone keeps a OneHA zone and its servers (IDs, names, endpoints)
// in the replicated database, so that every server knows the membership, and
// keeps the Raft configuration in step with that table.
//
// # Data
//
// Three tables, created through the log (sqlfsm.DB.Exec) with portable SQL
// that runs unchanged on MySQL/MariaDB and SQLite:
//
//	oneha_zone   (id, name, state, endpoint)              PRIMARY KEY (id)
//	             state: StateEnabled 0, StateDisabled 1 (SetState, one.zone.enable)
//	oneha_server (zone_id, id, name, endpoint)            PRIMARY KEY (zone_id, id)
//	                                                      UNIQUE (zone_id, name), UNIQUE (zone_id, endpoint)
//	oneha_server_reset (zone_id, server_id, token_sha256, expires_unix)
//	                                                      PRIMARY KEY (zone_id, server_id)
//
//	oneha_leader_history (zone_id, term, changed_ms, old_leader, new_leader, reason, end_reason)
//	                                                      PRIMARY KEY (zone_id, term)
//
// oneha_leader_history is the leadership history (history.go): one row per
// term, written by that term's leader once ready, bounded to HistoryKeep
// rows by a delete in the same entry whose cut-off is a parameter.
// end_reason is the intent the row's leader wrote before a transfer.
//
// oneha_server_reset holds the one-time tokens of server-reset (SHA-256
// only); it is not part of OpenNebula's zone formats.
//
// No column is auto-increment: server IDs are computed as max + 1 inside the
// inserting statement (INSERT ... SELECT over the same table), which
// sqlfsm's statement checks accept on both dialects because the target has
// no auto-increment column. Statement text never depends on the clock.
//
// # Invariants
//
//   - The zone table is the source of truth for membership; Raft follows it.
//     Every change writes the table first (through the log) and changes Raft
//     second: AddServer inserts the row, then AddNonvoter; DelServer deletes
//     the row, then RemoveServer; ResetServer changes only Raft. A leader
//     reconciles the two after every election and on every tick of Run (a
//     server in the table but not in Raft is added as a non-voter; one in
//     Raft but not in the table is removed), so a crash between the two
//     steps heals in the direction of the table. An empty server table is
//     never reconciled (a zone that was never registered is left alone).
//   - Server IDs are max existing + 1, from 0 (OpenNebula's rule), and never
//     collide with a Raft member of another address: in HA mode the floor is
//     the highest numeric Raft ID + 1. Registering an endpoint that already
//     is a Raft member (e.g. a leader bootstrapped on a fresh database adding
//     itself) reuses that member's ID.
//   - One join at a time: while any server of the table is a non-voter or
//     missing from Raft, AddServer and ResetServer refuse with
//     ErrJoinInProgress naming it.
//   - A non-voter becomes a voter only after its LOG_INDEX (fetched over its
//     own ENDPOINT through Config.Status) stayed within MaxLag of the
//     leader's commit index, and at or above the leader's snapshot index,
//     for PromoteAfter without interruption.
//   - A leader never removes itself: DelServer and ResetServer refuse this
//     server (ErrSelf) and reconciliation skips it.
//   - I7, no accidental second cluster: BootstrapGuard refuses when the
//     local zone table lists servers other than this one.
//   - Membership changes made by one Manager are serialised by its mutex; two
//     leaders' writes cannot both win because IDs come from the same
//     transaction that inserts them and names/endpoints are unique keys.
//   - Majority loss (`oned recover`): with Config.Recovery the leader, before
//     its first reconciliation, deletes through the log the rows of the
//     servers left out of the recovered configuration, only while the Raft
//     configuration is still exactly the recovered one and only rows whose
//     ID, name and endpoint match; reconciliation waits for it.
//   - Dead-server cleanup (Config.DeadServerTimeout > 0): the leader demotes
//     a voter whose Status failed for that long, oldest first, never below
//     MinQuorum voters; the row stays, and promotion makes it a voter again
//     once it answers and is caught up. The clock restarts every term.
//   - There is no package-level mutable state.
//
// # Server reset
//
// ResetServer is OneHA's one.zone.resetserver. OpenNebula uses it after a
// follower's database was restored from a backup: it resets the leader's
// replication index for that follower. Here it removes the server from the
// Raft configuration and re-adds it as a non-voter: the leader forgets the
// server's replication progress and probes its log afresh, sending whatever
// it lacks from the log, or a snapshot (a logical dump) when the leader no
// longer holds the entries after the server's applied index. The server
// loses its vote until the promotion loop sees it caught up again, so a
// server with a suspect database never decides a quorum.
//
// With Config.Resync (oned) the server also wipes itself first, and only on
// the current leader's word: the leader demotes it, writes a one-time token
// for it through the log (ResetTable, SHA-256 only, expiring after
// ResetTokenTTL, deleted once it answered) and calls Resync with it; the
// server accepts only a token its own replicated copy holds
// (CheckResetToken).
// The leader refuses resetting itself (ErrSelf) and a reset after which
// fewer than a majority of the zone's Raft members would be up-to-date
// voters (ErrNotUpToDate, naming those that must catch up). Without
// Resync the reset does not wipe or verify the server's database. A
// server whose database diverged (edited by hand, or restored from a dump with an applied index
// that does not match its content) must be stopped, its database and Raft
// directory wiped (or onedb-restored from a leader dump), then started and
// reset; the persistent FSM then replays or restores from the leader. While
// a voter is being reset the zone tolerates one failure less.
package zone
