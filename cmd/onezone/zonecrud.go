package main

import (
	"errors"
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
			tmpl, err := readTemplateFile(args[0], "create", 0, "file")
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
			zc, id, err := a.zoneConnect(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer zc.Close()
			tmpl, err := readTemplateFile(args[1], "update", 1, "file, ")
			if err != nil {
				return err
			}
			typ := 0
			if appendFlag {
				typ = 1
			}
			if _, err = zc.write(cmd.Context(), "one.zone.update", id, tmpl, typ); err != nil {
				return err
			}
			return a.verbose(id, "modified")
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
			if _, err = zc.write(cmd.Context(), "one.zone.rename", id, args[1]); err != nil {
				return err
			}
			return a.verbose(id, "renamed")
		},
	}
	del := &cobra.Command{
		Use:   "delete RANGE|ZONEID_LIST",
		Short: "Delete zones (IDs below 100 are system zones and stay)",
		Args:  cli.ExactArgs(1, "RANGE|ZONEID_LIST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.perZone(cmd.Context(), cmd.ErrOrStderr(), args[0], "deleted", func(zc *zoneConn, id int) error {
				_, err := zc.write(cmd.Context(), "one.zone.delete", id)
				return err
			})
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
// A path that is not a regular file is refused with CommandParser's
// message for argument argN of command (formats as it lists them).
func readTemplateFile(path, command string, argN int, formats string) (string, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err == nil {
			var st os.FileInfo
			if st, err = f.Stat(); err == nil && !st.Mode().IsRegular() {
				err = errors.New("not a regular file")
			}
			if err != nil {
				f.Close()
			}
		}
		if err != nil {
			return "", fmt.Errorf("command %s: argument %d must be one of %s", command, argN, formats)
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
