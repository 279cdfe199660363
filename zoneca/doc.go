// Package zoneca gives the servers of a OneHA zone mutual TLS without manual
// certificate work (issue 9): a zone CA, per-server leaf certificates that
// renew themselves while the server runs, and the *tls.Config values the
// shared port's listener and the peer dialer use.
//
// # Trust model
//
// The zone CA (EnsureCA) is a self-signed ECDSA P-256 certificate whose key
// lives next to it in the server's data folder (key mode 0600). The first
// server of a zone creates it; every further server gets a copy of the folder.
// Each server issues itself a short-lived leaf (Issue, NewAutoCreds) naming
// its Identity. An operator with an own PKI uses NewFileCreds instead.
//
// What a handshake between zone peers verifies, and why:
//
//   - Chain: the peer's leaf chains to the zone CA pool (Creds.Pool), is
//     within its validity period, and carries the extended key usage of its
//     role (ServerAuth for the side that was dialed, ClientAuth for the
//     dialer). Hostnames are NOT checked: servers are reached by addresses
//     from the zone table, which the Authorizer checks instead.
//   - Both sides present a certificate: the peer ALPNs (ALPNRaft, ALPNPeer)
//     require a client certificate, so an unauthenticated client can never
//     reach the Raft transport or the server-to-server RPC.
//   - Identity: a zone leaf names its server in a URI SAN
//     "oneha://zone/<zid>/server/<sid>" (Identity.URI, PeerIdentity). The
//     URI is only trustworthy after the chain verified.
//   - Membership: whether that server may talk to this one (is it in the zone
//     table, does the dialed address belong to it) is the Authorizer's job;
//     oned implements it with its zone table. This package knows no zone
//     table.
//
// # Certificates over time
//
// NewAutoCreds renews the leaf at 2/3 of its lifetime (24h leaves every 16h)
// in Creds.Run; each new handshake presents the current leaf, established
// connections are untouched. Creds.Renewed signals each replacement.
// NewFileCreds reloads an operator's files when they change. A server not
// yet in a zone (SoloServerID) gets a leaf without identity: it serves HTTPS
// but is never taken for a peer.
//
// The zone CA itself is replaced in three steps (RotateCA, RotationStatus):
// trust OLD and NEW while signing with OLD, sign with NEW while trusting
// both, trust NEW only. Running servers reload the CA files when they change
// (Creds.WatchCA), so a step needs no restart; at every moment any two
// servers trust each other's leaf.
//
// A refusal by this package or the Authorizer wraps ErrUnauthorizedPeer and
// says why. Inbound chain failures are detected by crypto/tls itself (so that
// ConnectionState.VerifiedChains is set for handlers); pass the listener's
// handshake error through HandshakeError to get the same classification.
// No function of this package logs or returns key material.
package zoneca
