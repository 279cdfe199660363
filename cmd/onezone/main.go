// Command onezone manages the zone and its HA servers through the XML-RPC
// API, like OpenNebula's onezone: list, show (with every server's Raft
// status), server-add, server-del and server-reset; and OneHA's members
// (Raft membership) and leader-transfer (planned switchover).
//
// The endpoint comes from --endpoint, $ONE_XMLRPC or
// http://localhost:2633/RPC2; the credentials from --user/--password or the
// $ONE_AUTH file (default ~/.one/one_auth, "user:password"). Exit status is
// 0 on success and 255 on any error, printed to stderr.
package main

import "github.com/oneha/oneha/internal/cli"

func main() { cli.Run(newRootCmd) }
