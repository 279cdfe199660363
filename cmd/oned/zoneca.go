package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/oneha/oneha/oned"
	"github.com/oneha/oneha/zoneca"
)

// newZoneCACmd is `oned zone-ca`: create the zone CA at TLS.CA / TLS.CA_KEY
// (default beside ONE_AUTH) when it is missing. A new zone's first server
// does this by itself; this is for a zone whose servers all started before
// zone TLS existed (upgrade): run it on one server, copy the folder to the
// others, restart them.
func newZoneCACmd(stdout io.Writer, configPath *string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "zone-ca",
		Short: "Create this zone's CA if missing (for a zone that predates zone TLS), then copy its folder to every server",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			crt, key, err := zoneCAPaths(*configPath, "not a zone CA")
			if err != nil {
				return err
			}
			if _, created, err := zoneca.EnsureCA(crt, key, true); err != nil {
				return err
			} else if !created {
				fmt.Fprintf(stdout, "zone CA already exists: %s\n", crt)
				return nil
			}
			fmt.Fprintf(stdout, "created the zone CA %s and %s: copy %s to every server of the zone, then restart them\n", crt, key, filepath.Dir(key))
			return nil
		},
	}
	cmd.AddCommand(newZoneCARotateCmd(stdout, configPath))
	return cmd
}

// zoneCAPaths reads oned's config and returns the zone CA's certificate and
// key paths; a zone on the operator's own PKI has no zone CA (why says what
// to do instead).
func zoneCAPaths(configPath, why string) (crt, key string, err error) {
	cfg, err := oned.LoadConfig(configPath)
	if err != nil {
		return "", "", err
	}
	if cfg.OwnPKI() {
		return "", "", fmt.Errorf("%w: TLS.CERT is set: the zone uses the operator's own PKI; %s", oned.ErrConfig, why)
	}
	crt, key = cfg.ZoneCAPaths()
	return crt, key, nil
}
