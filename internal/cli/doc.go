// Package cli holds what onezone, onesql and onedb share: the global
// connection options of OpenNebula's CLIs (--endpoint, --user, --password,
// env ONE_XMLRPC and ONE_AUTH), the XML-RPC session built from them, table
// and JSON output helpers, and Main, which runs a cobra command tree and maps
// its outcome to OpenNebula's exit codes (0 ok, 255 error).
//
// Nothing here keeps package-level mutable state: every command tree is
// built from its stdout, stderr and an env lookup function, so tests run the
// real commands in-process.
package cli
