// Command oned runs one OneHA server in the foreground:
//
//	oned --config /etc/one/oned.yaml
//
// SIGTERM or SIGINT stops it in order (a leader hands leadership away first).
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/oneha/oneha/oned"
)

func main() {
	if err := newRootCmd(os.Stderr).Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "oned:", err)
		os.Exit(1)
	}
}

func newRootCmd(stderr io.Writer) *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:           "oned",
		Short:         "OneHA server: replicated SQL for a zone, OpenNebula-compatible XML-RPC",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := oned.LoadConfig(configPath)
			if err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level(cfg.LogLevel)}))
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, syscall.SIGINT)
			defer stop()
			s, err := oned.New(ctx, cfg, log)
			if err != nil {
				return err
			}
			resync := false
			select {
			case <-ctx.Done():
			case <-s.RestartRequested():
				resync = true
			}
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = s.Shutdown(sctx)
			if resync {
				fmt.Fprintln(stderr, "oned: stopped to resync from the leader; start it again (systemd does) and it rejoins empty")
				os.Exit(oned.ExitResync)
			}
			return err
		},
	}
	cmd.PersistentFlags().StringVar(&configPath, "config", "/etc/one/oned.yaml", "configuration file (YAML, oned.conf attribute names)")
	cmd.AddCommand(newVIPCmd(stderr, &configPath))
	return cmd
}

func level(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}
