package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/oneha/oneha/internal/cli"
	"github.com/oneha/oneha/oned"
)

type app struct {
	stdout io.Writer
	env    func(string) string
	now    func() time.Time
}

// dbOptions are the flags backup and restore share.
type dbOptions struct {
	flags  Flags
	config string
	force  bool
	cfg    oned.Config // set by resolve
	// --federated, --federated-tables
	federated bool
	fedExtra  []string
}

// registerFederated adds --federated and --federated-tables.
func (o *dbOptions) registerFederated(cmd *cobra.Command, what string) {
	f := cmd.Flags()
	f.BoolVar(&o.federated, "federated", false, what)
	f.StringSliceVar(&o.fedExtra, "federated-tables", nil, "federated tables besides OpenNebula's and the oned config's FEDERATED_TABLES (a,b,...)")
}

// fedTables is the table list of --federated (FederatedTables).
func (o *dbOptions) fedTables(cmd *cobra.Command) ([]string, error) {
	if !o.federated && cmd.Flags().Changed("federated-tables") {
		return nil, errors.New("--federated-tables needs --federated")
	}
	return FederatedTables(o.cfg, o.fedExtra)
}

func (o *dbOptions) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVarP(&o.flags.User, "username", "u", "", "MySQL user (default: oned config DB.USER)")
	f.StringVarP(&o.flags.Password, "password", "p", "", "MySQL password (default: oned config DB.PASSWD)")
	f.StringVarP(&o.flags.Name, "dbname", "d", "", "MySQL database name (default: oned config DB.DB_NAME)")
	f.StringVarP(&o.flags.Server, "server", "S", "localhost", "MySQL server (default: oned config DB.SERVER)")
	f.IntVarP(&o.flags.Port, "port", "P", 0, "MySQL port, 0 for 3306 (default: oned config DB.PORT)")
	f.StringVarP(&o.flags.SQLite, "sqlite", "s", "", "SQLite database file (default: oned config DATA_DIR/one.db)")
	f.StringVarP(&o.flags.Type, "type", "t", "", "backend: mysql or sqlite (default: from the other options, else oned config DB.BACKEND)")
	f.StringVar(&o.config, "config", DefaultConfigPath, "oned configuration giving the defaults (\"\" for none)")
	f.BoolVarP(&o.force, "force", "f", false, "overwrite an existing backup file / a non-empty database")
}

// resolve applies the configuration and the explicit flags.
func (o *dbOptions) resolve(cmd *cobra.Command) (Target, string, error) {
	o.flags.Set = map[string]bool{}
	for _, n := range []string{"username", "password", "dbname", "server", "port", "sqlite", "type"} {
		o.flags.Set[n] = cmd.Flags().Changed(n)
	}
	cfg, found, err := LoadConfig(o.config, cmd.Flags().Changed("config"))
	if err != nil {
		return Target{}, "", err
	}
	t, err := ResolveTarget(o.flags, cfg)
	if err != nil {
		return Target{}, "", err
	}
	o.cfg = cfg
	lock := ""
	if found {
		lock = filepath.Join(cfg.DataDir, LockFile)
	}
	return t, lock, nil
}

// newRootCmd builds the onedb command tree.
func newRootCmd(stdout, stderr io.Writer, env func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:   "onedb",
		Short: "Back up and restore a OneHA server's database",
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	a := &app{stdout: stdout, env: env, now: time.Now}
	root.AddCommand(a.backupCmd(), a.restoreCmd())
	return root
}

func (a *app) backupCmd() *cobra.Command {
	o := &dbOptions{}
	cmd := &cobra.Command{
		Use:   "backup [FILE]",
		Short: "Dump the database to FILE (default /var/lib/one/mysql_<server>_<db>_<date>.sql)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, _, err := o.resolve(cmd)
			if err != nil {
				return err
			}
			tables, err := o.fedTables(cmd)
			if err != nil {
				return err
			}
			if o.federated {
				file := DefaultFederatedBackupFile(t, a.now(), VarDir(a.env))
				if len(args) == 1 {
					file = args[0]
				}
				idx, err := BackupFederated(cmd.Context(), t, file, o.force, tables)
				if err != nil {
					return err
				}
				_, err = io.WriteString(a.stdout, FederatedBackupMessage(t, file, idx))
				return err
			}
			file := DefaultBackupFile(t, a.now(), VarDir(a.env))
			if len(args) == 1 {
				file = args[0]
			}
			if err := Backup(cmd.Context(), t, file, o.force); err != nil {
				return err
			}
			_, err = io.WriteString(a.stdout, BackupMessage(t, file))
			return err
		},
	}
	o.register(cmd)
	o.registerFederated(cmd, "dump only the federated tables and the federation index (to seed a new slave zone; default file name with \"federated_\")")
	return cmd
}

func (a *app) restoreCmd() *cobra.Command {
	o := &dbOptions{}
	var newZone bool
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Replace the database's contents with the dump in FILE (oned must be stopped)",
		Args:  cli.ExactArgs(1, "FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, lock, err := o.resolve(cmd)
			if err != nil {
				return err
			}
			tables, err := o.fedTables(cmd)
			if err != nil {
				return err
			}
			if o.federated {
				if newZone {
					return errors.New("--federated conflicts with --new-zone")
				}
				idx, err := RestoreFederated(cmd.Context(), t, args[0], tables, o.force, lock)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintf(a.stdout, "%s restored: federated tables at federation index %d.\n", t.Describe(), idx)
				return err
			}
			if err := Restore(cmd.Context(), t, args[0], o.force, newZone, lock); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "%s restored.\n", t.Describe())
			return err
		},
	}
	o.registerFederated(cmd, "replace only the federated tables (a dump of onedb backup --federated), keeping the other tables: seeds a new slave zone's first server before it starts")
	cmd.Flags().BoolVar(&newZone, "new-zone", false, "make the restored database the seed of a NEW zone (every host lost): applied index 0, no servers; then start solo, server-add, restart with SERVER_ID")
	o.register(cmd)
	return cmd
}
