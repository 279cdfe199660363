package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/spf13/cobra"

	"github.com/oneha/oneha/oned"
	"github.com/oneha/oneha/vip"
)

// newVIPCmd is `oned vip acquire|release --config FILE`: the floating IP by
// hand, for operators and for systemd's ExecStopPost (a crashed leader's
// address is released whatever way the process ended).
func newVIPCmd(stderr io.Writer, configPath *string) *cobra.Command {
	cmd := &cobra.Command{Use: "vip", Short: "acquire or release this server's floating IP (config key VIP)"}
	for _, action := range []string{"acquire", "release"} {
		cmd.AddCommand(&cobra.Command{
			Use:   action,
			Short: action + " every address of the VIP config key",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				cfg, err := oned.LoadConfig(*configPath)
				if err != nil {
					return err
				}
				if len(cfg.VIP) == 0 {
					fmt.Fprintln(stderr, "oned vip: no VIP configured; nothing to do")
					return nil
				}
				v, err := vip.New(cfg.VIPConfigs(), slog.New(slog.NewTextHandler(stderr, nil)))
				if err != nil {
					return err
				}
				ctx, cancel := context.WithTimeout(cmd.Context(), 10*time.Second)
				defer cancel()
				if action == "acquire" {
					err = v.Acquire(ctx)
					if err == nil {
						time.Sleep(2 * time.Second) // let the first gratuitous ARP burst go out
					}
					return err
				}
				return v.Release(ctx)
			},
		})
	}
	return cmd
}
