package main

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/oneha/oneha/zoneca"
)

// newZoneCARotateCmd is `oned zone-ca rotate [--step N]`: replace the zone
// CA in three steps without stopping the zone (zoneca.RotateCA). Without
// --step it only says where the folder stands and what to run next.
func newZoneCARotateCmd(stdout io.Writer, configPath *string) *cobra.Command {
	var step int
	cmd := &cobra.Command{
		Use:   "rotate [--step 1|2|3]",
		Short: "Replace the zone CA without downtime: run step 1, 2, 3 on one server, each followed by copying the folder to every server and waiting for every server to reload it",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			crt, key, err := zoneCAPaths(*configPath, "rotate it with your PKI (put old and new CA in TLS.CA, then replace the certificates, then drop the old CA; files are reloaded without restart)")
			if err != nil {
				return err
			}
			dir := filepath.Dir(key)
			if step == 0 {
				st, err := zoneca.RotationStatus(crt, key)
				if err != nil {
					return err
				}
				fmt.Fprintf(stdout, "zone CA %s: %s; next: oned zone-ca rotate --step %d\n", crt, st, st.Next())
				return nil
			}
			ca, err := zoneca.RotateCA(crt, key, zoneca.RotationStep(step), time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s\n", rotationDone(step, ca, dir))
			return nil
		},
	}
	cmd.Flags().IntVar(&step, "step", 0, "rotation step to perform (1 trust new, 2 sign with new, 3 drop old); none: show the state")
	return cmd
}

// rotationDone is what the operator does after step.
func rotationDone(step int, ca *zoneca.CA, dir string) string {
	const roll = "copy %s to every server of the zone (all files), then wait until every server logs `zoneca: zone CA reloaded` (within TLS.RELOAD_S, 30 s by default), or restart the servers one at a time"
	name := ca.Cert.Subject.CommonName
	switch step {
	case 1:
		return fmt.Sprintf("step 1 of 3 done: the servers will trust the old and the new CA and still sign with %q.\nNow "+roll+";\nthen run: oned zone-ca rotate --step 2", name, dir)
	case 2:
		return fmt.Sprintf("step 2 of 3 done: the servers will sign with the new CA %q and still trust the old one.\nNow "+roll+";\nthen run: oned zone-ca rotate --step 3", name, dir)
	default:
		return fmt.Sprintf("step 3 of 3 done: the servers will trust only %q.\nNow "+roll+". The rotation is then complete.", name, dir)
	}
}
