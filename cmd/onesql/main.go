// Command onesql runs SQL on a OneHA zone through the XML-RPC API:
// `onesql exec` sends writes to one.sql.exec (one transaction, replicated
// through the Raft log), `onesql query` sends a read-only statement to
// one.sql.query at a chosen consistency (stale, default, strong).
//
// Parameters bind to ? placeholders. They are strings unless typed with a
// prefix: int:42, float:1.5, bool:true, null:, hex:DEADBEEF (binary) and
// str:text (a string that would otherwise look typed). The connection
// options and exit codes are those of onezone (see internal/cli).
package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/oneha/oneha/internal/cli"
)

func main() {
	cli.Run(func(stdout, stderr io.Writer, env func(string) string) *cobra.Command {
		return newRootCmd(os.Stdin, stdout, stderr, env)
	})
}
