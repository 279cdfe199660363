// Package oned is the OneHA daemon: one server of a zone. It reads the
// configuration (oned.conf attribute names, in YAML), opens the local
// database, starts the Raft node (unless SERVER_ID is -1, solo) on the
// server's single port shared with the XML-RPC API, and serves OpenNebula's
// zone methods plus one.sql.exec / one.sql.query.
//
// Start order: config → database → FSM → listener (mux) → Raft node → zone
// schema and membership loop → XML-RPC server. Stop order is the reverse; a
// leader transfers leadership before its node stops.
//
// Invariants:
//   - a write reaching a follower is forwarded to the leader's ENDPOINT and
//     the leader's answer is returned; with no leader the client gets an
//     INTERNAL error within XMLRPC_TIMEOUT_MS-bounded time, never a hang;
//   - every call is authenticated against ONE_AUTH before anything else;
//   - an unknown outcome (leadership lost after the entry was appended) is
//     reported as such, never as a failure;
//   - the leader compares every follower's entry outcomes and table
//     checksums with its own (GET /audit, audit.go) and reports the first
//     difference per server until a later audit of it matches again.
package oned
