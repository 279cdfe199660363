// Package client is OneHA's Go client: typed one.sql.exec / one.sql.query
// calls over XML-RPC against the servers of one zone, with leader discovery,
// bounded retries where they are safe, and one keep-alive HTTP transport per
// Client.
//
// goca (OpenNebula's Go bindings) cannot decode one.sql.query's answer (a
// struct of arrays, with an empty struct for NULL); Go programs use this
// package instead: Client.Exec / Client.ExecRequest / Client.Query, or
// Client.DB for database/sql and sqlx (struct scanning with `db` tags).
//
// # Routing
//
// Writes (Exec) and reads at Default or Strong consistency go to the leader;
// any server would take them too (followers forward them), but going to the
// leader directly saves a hop and the forwarding's own failure window. The
// leader is found with the public GET /leader health endpoint of each
// configured server (200 on the ready leader, 503 elsewhere; no credentials,
// no database access), probed concurrently, and cached until a call to it
// fails. When no server says it leads (an election), calls go to the
// servers in turn and the server that receives them forwards or waits for
// the election (XMLRPC_TIMEOUT_MS). Stale reads go to the first endpoint
// (the "home" server) and move to the next one when it fails.
//
// # Retries
//
// An attempt is retried (on the next target, after a jittered exponential
// backoff, at most Options.MaxAttempts attempts in all, within the caller's
// context) only when resending cannot apply a write twice:
//
//   - not applied: the connection was never established, HTTP 503 (oned's
//     request budget refuses before reading the call), or a failure answer
//     whose message starts with xmlrpc.NotAppliedPrefix (no leader, leader
//     unreachable before forwarding, leadership changed before appending).
//     Every call is retried.
//   - outcome unknown: xmlrpc.OutcomeUnknownError answers, a connection lost
//     or an attempt timed out after the request was sent, a truncated or
//     malformed answer, HTTP 5xx other than 503. Reads are retried (they
//     change nothing); writes only when they carry a request id, which the
//     zone applies at most once and answers with the first result. A write
//     without one fails with ErrOutcomeUnknown.
//   - anything else (authentication, SQL errors, bad parameters, request id
//     reused with other statements, zone disabled, XML-RPC faults, TLS
//     certificate errors, oversized answers) fails at once.
//
// # Invariants
//
//   - A write without a request id is sent again only after an answer that
//     proves the previous attempt was not logged (TestClientZone/unknown_outcome).
//   - A write with a request id retried across a leader crash is applied
//     exactly once, and a Strong read afterwards sees every acknowledged
//     write (TestClientZone/failover_exactly_once).
//   - Every attempt is bounded in time (Options.Timeout), every answer in
//     size (Options.MaxBody), and the number of attempts and each backoff by
//     Options.MaxAttempts and Options.MaxBackoff.
//   - Credentials travel only in the XML-RPC session parameter; they are
//     never part of an error message.
package client
