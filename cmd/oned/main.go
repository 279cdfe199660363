// Command oned runs one OneHA server in the foreground:
//
//	oned --config /etc/one/oned.yaml
//
// SIGTERM or SIGINT stops it in order (a leader hands leadership away first).
package main

import (
	"context"
	"errors"
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
		if errors.Is(err, oned.ErrResync) {
			os.Exit(oned.ExitResync)
		}
		os.Exit(1)
	}
}

func newRootCmd(stderr io.Writer) *cobra.Command {
	var configPath string
	cmd := &cobra.Command{
		Use:           "oned",
		Version:       strings.TrimPrefix(oned.Version, "OneHA ") + " (OpenNebula API " + oned.OpenNebulaVersion + ")",
		Short:         "OneHA server: replicated SQL for a zone, OpenNebula-compatible XML-RPC",
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := oned.LoadConfig(configPath)
			if err != nil {
				return err
			}
			var lvl slog.Level // LOG_LEVEL is validated: debug, info, warn or error
			if err := lvl.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
				return fmt.Errorf("%w: LOG_LEVEL: %w", oned.ErrConfig, err)
			}
			log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
			oned.WarnIfReadable(log, "config file", configPath)
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
				// main exits with ExitResync; a failed Shutdown is still reported.
				return errors.Join(fmt.Errorf("%w; start it again (systemd does) and it rejoins empty", oned.ErrResync), err)
			}
			return err
		},
	}
	cmd.PersistentFlags().StringVar(&configPath, "config", "/etc/one/oned.yaml", "configuration file (YAML, oned.conf attribute names)")
	cmd.AddCommand(newVIPCmd(stderr, &configPath))
	cmd.AddCommand(newZoneCACmd(os.Stdout, &configPath))
	cmd.AddCommand(newRecoverCmd(os.Stdout, stderr, &configPath))
	return cmd
}
