package main

import (
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/oneha/oneha/oned"
)

// newRecoverCmd is `oned recover`: after a majority loss, rewrite this
// stopped survivor's Raft configuration to the surviving servers (default:
// itself). It prints the plan and acts only with --yes.
func newRecoverCmd(stdout, stderr io.Writer, configPath *string) *cobra.Command {
	var (
		servers string
		yes     bool
	)
	cmd := &cobra.Command{
		Use:   "recover",
		Short: "After a majority loss: restart this stopped survivor as a zone of the surviving servers (prints the plan; acts with --yes)",
		Long: `Run on a stopped survivor when a majority of the zone's servers is lost for good.
It reads this server's Raft log and database, prints the zone table, the Raft
configuration and the configuration it will start with, and with --yes
rewrites the Raft state so that the zone is made of the servers named by
--servers (default: this server alone), all voters. Every entry of this
server's log is applied first. Start oned afterwards: once it leads, the lost
servers are deleted from the zone table; add servers again with onezone
server-add, one at a time. With several survivors, run the same command with
the same --servers on each before starting any of them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := oned.LoadConfig(*configPath)
			if err != nil {
				return err
			}
			ids, err := oned.ParseServerIDs(servers)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
			return oned.Recover(cmd.Context(), cfg, oned.RecoverOptions{Servers: ids, Yes: yes}, stdout, log)
		},
	}
	cmd.Flags().StringVar(&servers, "servers", "", "comma-separated IDs of the surviving servers (default: this server)")
	cmd.Flags().BoolVar(&yes, "yes", false, "act (without it, only print the plan)")
	return cmd
}
