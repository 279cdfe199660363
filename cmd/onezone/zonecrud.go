package main

import (
	"fmt"
	"io"
	"os"

	"github.com/oneha/oneha/internal/cli"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// maxTemplateFile bounds a template file read by create/update (oned
// refuses templates over 64 KiB anyway).
const maxTemplateFile = 64 << 10

// zoneCRUDCmds are onezone create|update|rename|delete, OpenNebula's
// one.zone.allocate/update/rename/delete.
func (a *app) zoneCRUDCmds() []*cobra.Command {
	create := &cobra.Command{
		Use:   "create FILE",
		Short: "Create a zone from a template file (NAME and ENDPOINT; KEY=VALUE or XML)",
		Args:  cli.ExactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			tmpl, err := readTemplateFile(args[0])
			if err != nil {
				return err
			}
			zc, err := a.connect()
			if err != nil {
				return err
			}
			defer zc.Close()
			id, err := zc.write(cmd.Context(), "one.zone.allocate", tmpl)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "ID: %v\n", id)
			return err
		},
	}
	var appendFlag bool
	update := &cobra.Command{
		Use:   "update ZONEID FILE",
		Short: "Replace (or with --append merge into) a zone's template",
		Args:  cli.ExactArgs(2, "ZONEID", "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			tmpl, err := readTemplateFile(args[1])
			if err != nil {
				return err
			}
			zc, id, err := a.zoneConnect(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer zc.Close()
			typ := 0
			if appendFlag {
				typ = 1
			}
			_, err = zc.write(cmd.Context(), "one.zone.update", id, tmpl, typ)
			return err
		},
	}
	update.Flags().AddFlagSet(appendFlags(&appendFlag))
	rename := &cobra.Command{
		Use:   "rename ZONEID NAME",
		Short: "Rename a zone",
		Args:  cli.ExactArgs(2, "ZONEID", "NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			zc, id, err := a.zoneConnect(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer zc.Close()
			_, err = zc.write(cmd.Context(), "one.zone.rename", id, args[1])
			return err
		},
	}
	del := &cobra.Command{
		Use:   "delete ZONEID",
		Short: "Delete a zone (IDs below 100 are system zones and stay)",
		Args:  cli.ExactArgs(1, "ZONEID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			zc, id, err := a.zoneConnect(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer zc.Close()
			_, err = zc.write(cmd.Context(), "one.zone.delete", id)
			return err
		},
	}
	return []*cobra.Command{create, update, rename, del}
}

func appendFlags(v *bool) *pflag.FlagSet {
	fs := pflag.NewFlagSet("update", pflag.ContinueOnError)
	fs.BoolVarP(v, "append", "a", false, "merge into the template instead of replacing it")
	return fs
}

// readTemplateFile reads a template file ("-": standard input), bounded.
func readTemplateFile(path string) (string, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxTemplateFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxTemplateFile {
		return "", fmt.Errorf("%s: template larger than %d bytes", path, maxTemplateFile)
	}
	return string(b), nil
}
