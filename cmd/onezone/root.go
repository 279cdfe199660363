package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/oneha/oneha/internal/cli"
)

// DefaultStatusTimeout bounds each server's raftstatus call in show.
const DefaultStatusTimeout = 5 * time.Second

type app struct {
	stdout io.Writer
	env    func(string) string
	conn   *cli.Connection
	// verboseOn is CommandParser's global -v/--verbose: actions say
	// "ZONE <id>: <what was done>".
	verboseOn bool
}

func (a *app) session() (*cli.Session, error) { return a.conn.Session(a.env) }

// newRootCmd builds the onezone command tree.
func newRootCmd(stdout, stderr io.Writer, env func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:   "onezone",
		Short: "Manage the OpenNebula zone and its HA servers",
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	a := &app{stdout: stdout, env: env, conn: cli.AddConnectionFlags(root)}
	a.conn.Warn = stderr
	root.PersistentFlags().BoolVarP(&a.verboseOn, "verbose", "v", false, "Verbose mode")
	root.AddCommand(a.listCmd(), a.showCmd(), a.serverAddCmd(), a.serverDelCmd(), a.serverResetCmd(), a.leaderTransferCmd(), a.membersCmd(),
		a.historyCmd(), a.enableCmd(true), a.enableCmd(false))
	root.AddCommand(a.zoneCRUDCmds()...)
	return root
}

// formatFlags are OpenNebulaHelper::FORMAT: -x, -j, -y (when several are
// given, XML wins over JSON over YAML, as in OpenNebula).
type formatFlags struct{ xml, json, yaml bool }

func addFormatFlags(cmd *cobra.Command, f *formatFlags) {
	cmd.Flags().BoolVarP(&f.xml, "xml", "x", false, "Show the resource in xml format")
	cmd.Flags().BoolVarP(&f.json, "json", "j", false, "Show the resource in JSON format")
	cmd.Flags().BoolVarP(&f.yaml, "yaml", "y", false, "Show the resource in YAML format")
}

// print writes doc as -x, -j or -y ask; false when none is set.
func (f formatFlags) print(w io.Writer, doc *XNode) (bool, error) {
	var out string
	switch {
	case f.xml:
		out = PrettyXML(doc)
	case f.json:
		out = PrettyJSON(ToHash(doc))
	case f.yaml:
		out = PrettyYAML(ToHash(doc))
	default:
		return false, nil
	}
	_, err := io.WriteString(w, out)
	return true, err
}

func (a *app) listCmd() *cobra.Command {
	var formats formatFlags
	var topts TableOptions
	statusTimeout := DefaultStatusTimeout
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Lists Zones in the pool",
		Args:  cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if topts.Describe {
				_, err := io.WriteString(a.stdout, listTable().Describe())
				return err
			}
			zc, err := a.connect()
			if err != nil {
				return err
			}
			defer zc.Close()
			doc, err := zc.readString(cmd.Context(), "one.zonepool.info")
			if err != nil {
				return err
			}
			pool, err := ParseXML(doc)
			if err != nil {
				return err
			}
			if pool.Name != "ZONE_POOL" {
				return fmt.Errorf("%w: root element %s, want ZONE_POOL", ErrXML, pool.Name)
			}
			if done, err := formats.print(a.stdout, pool); done {
				return err
			}
			fed := FetchFedIndex(cmd.Context(), ZoneEndpoints(pool), statusTimeout, zc.raftStatus(statusTimeout))
			topts.TTY = isTerminal(a.stdout)
			out, err := listTable().Render(ListRows(pool, zc.s.Endpoint, fed), topts)
			if err != nil {
				return err
			}
			_, err = io.WriteString(a.stdout, out)
			return err
		},
	}
	addTableFlags(cmd, &topts)
	addFormatFlags(cmd, &formats)
	cmd.Flags().DurationVar(&statusTimeout, "status-timeout", DefaultStatusTimeout, "timeout of each zone's raftstatus call (FED_INDEX)")
	return cmd
}

func (a *app) showCmd() *cobra.Command {
	var formats formatFlags
	statusTimeout := DefaultStatusTimeout
	cmd := &cobra.Command{
		Use:   "show ZONEID",
		Short: "Shows information for the given Zone, its servers and their Raft status",
		Args:  cli.ExactArgs(1, "ZONEID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			zc, id, err := a.zoneConnect(ctx, args[0])
			if err != nil {
				return err
			}
			defer zc.Close()
			doc, err := zc.zoneInfo(ctx, id)
			if err != nil {
				return err
			}
			z, err := ParseZone(doc)
			if err != nil {
				return err
			}
			root, err := ParseXML(doc)
			if err != nil {
				return err
			}
			status := FetchStatus(ctx, z.Servers, statusTimeout, zc.raftStatus(statusTimeout))
			ExtendZone(root, status)
			if done, err := formats.print(a.stdout, root); done {
				return err
			}
			out := RenderShow(root, status, isTerminal(a.stdout))
			if fed := FederationLines(zc.fedStatus(ctx, statusTimeout), id); fed != "" {
				if oneHALines(status) == "" { // OneHA's block starts after a blank line
					out += "\n"
				}
				out += fed
			}
			_, err = io.WriteString(a.stdout, out)
			return err
		},
	}
	addFormatFlags(cmd, &formats)
	cmd.Flags().DurationVar(&statusTimeout, "status-timeout", DefaultStatusTimeout, "timeout of each server's raftstatus call")
	return cmd
}

func (a *app) serverAddCmd() *cobra.Command {
	var name, rpc string
	cmd := &cobra.Command{
		Use:   "server-add ZONEID -n NAME -r URL",
		Short: "Add a server to the zone",
		Args:  cli.ExactArgs(1, "ZONEID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			// As OpenNebula's onezone: the zone argument is resolved
			// first, then the options are checked, with its messages
			// (the protocol one on stdout).
			zc, id, err := a.zoneConnect(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer zc.Close()
			if !cmd.Flags().Changed("name") || !cmd.Flags().Changed("rpc") {
				return errors.New("To add a server set:\n\t-n <server name>\n\t-r <RPC endpoint>")
			}
			if !strings.HasPrefix(rpc, "http://") && !strings.HasPrefix(rpc, "https://") {
				if _, err := fmt.Fprintln(a.stdout, "Wrong protocol specified. Only http or https allowed!"); err != nil {
					return err
				}
				return cli.ErrReported
			}
			tmpl, err := ServerTemplate(name, rpc)
			if err != nil {
				return err
			}
			if _, err := zc.write(cmd.Context(), "one.zone.addserver", id, tmpl); err != nil {
				return err
			}
			return a.verbose(id, "server added")
		},
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "Zone server name")
	cmd.Flags().StringVarP(&rpc, "rpc", "r", "", "Zone server RPC endpoint (http:// or https://)")
	return cmd
}

func (a *app) serverDelCmd() *cobra.Command {
	return a.serverActionCmd("server-del", "Delete a server from the zone", "one.zone.delserver", "server deleted")
}

func (a *app) serverResetCmd() *cobra.Command {
	return a.serverActionCmd("server-reset", "Reset a server's Raft log (it then syncs from the leader)", "one.zone.resetserver", "server reset")
}

// leaderTransferCmd is OneHA's own: move leadership (and with it the
// floating IP) before maintenance on the leader's host, without waiting for
// an election timeout.
func (a *app) leaderTransferCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "leader-transfer ZONEID [SERVERID]",
		Short: "Hand leadership to a server (default: the most up-to-date voter)",
		Args:  cli.RangeArgs(1, 2, "ZONEID", "[SERVERID]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			zc, id, err := a.zoneConnect(ctx, args[0])
			if err != nil {
				return err
			}
			defer zc.Close()
			sid, to := -1, "another server"
			if len(args) == 2 {
				if sid, err = zc.resolveServer(ctx, id, args[1]); err != nil {
					return err
				}
				to = "server " + strconv.Itoa(sid)
			}
			if _, err := zc.write(ctx, "one.zone.leadertransfer", id, sid); err != nil {
				return err
			}
			return a.verbose(id, "leadership transferred to "+to)
		},
	}
	return cmd
}

// enableCmd is OpenNebula's onezone enable / disable: one.zone.enable(id,
// bool) on each zone of a comma-separated list or range (0,1 or 0..2). A
// disabled zone refuses one.sql.exec and serves everything else.
func (a *app) enableCmd(enable bool) *cobra.Command {
	use, short, done := "enable", "Enable zone: writes (one.sql.exec) are accepted again", "enable zone"
	if !enable {
		use, short, done = "disable", "Disable zone (maintenance): one.sql.exec is refused, reads, zone management and replication go on", "disable zone"
	}
	cmd := &cobra.Command{
		Use:   use + " RANGE|ZONEID_LIST",
		Short: short,
		Args:  cli.ExactArgs(1, "RANGE|ZONEID_LIST"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.perZone(cmd.Context(), cmd.ErrOrStderr(), args[0], done, func(zc *zoneConn, id int) error {
				_, err := zc.write(cmd.Context(), "one.zone.enable", id, enable)
				return err
			})
		},
	}
	return cmd
}

// maxZoneList bounds a zone list or range.
const maxZoneList = 1000

// rangeRE is CommandParser's REG_RANGE: IDs and a..b ranges, comma
// separated.
var rangeRE = regexp.MustCompile(`^(?:(?:\d+\.\.\d+|\d+),)*(?:\d+\.\.\d+|\d+)$`)

// zoneRange is CommandParser's :range format ("1,8..15", spaces ignored):
// the IDs in order, without repeats; false when arg is not a range.
func zoneRange(arg string) ([]int, bool, error) {
	arg = strings.ReplaceAll(arg, " ", "")
	if !rangeRE.MatchString(arg) {
		return nil, false, nil
	}
	var ids []int
	seen := map[int]bool{}
	add := func(id int) error {
		if !seen[id] {
			if len(ids) == maxZoneList {
				return fmt.Errorf("%w: more than %d zones", cli.ErrUsage, maxZoneList)
			}
			seen[id] = true
			ids = append(ids, id)
		}
		return nil
	}
	for _, e := range strings.Split(arg, ",") {
		lo, hi, isRange := strings.Cut(e, "..")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil {
			return nil, false, fmt.Errorf("%w: bad range %q", cli.ErrUsage, arg)
		}
		for i := a; i <= b; i++ {
			if err := add(i); err != nil {
				return nil, false, err
			}
		}
	}
	return ids, true, nil
}

// zoneIDs is the [:range, :zoneid_list] argument of OpenNebula's onezone
// delete/enable/disable: a range, else a comma-separated list of zone IDs
// and names, every name resolved before anything is done.
func (z *zoneConn) zoneIDs(ctx context.Context, arg string) ([]int, error) {
	if ids, ok, err := zoneRange(arg); ok || err != nil {
		return ids, err
	}
	names := strings.Split(arg, ",")
	if len(names) > maxZoneList {
		return nil, fmt.Errorf("%w: more than %d zones", cli.ErrUsage, maxZoneList)
	}
	doc, err := z.readString(ctx, "one.zonepool.info")
	if err != nil {
		return nil, err
	}
	zones, err := ParseZonePool(doc)
	if err != nil {
		return nil, err
	}
	var ids []int
	for _, n := range names {
		if id, ok := numericID(n); ok {
			ids = append(ids, id)
			continue
		}
		id, err := findByName(zones, n, func(z Zone) (int, string) { return z.ID, z.Name }, "ZONE")
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// perZone is OpenNebula's perform_actions: action on every zone of arg
// (zoneIDs); a failure is printed to stderr and the next zone goes on; the
// command fails when any did.
func (a *app) perZone(ctx context.Context, stderr io.Writer, arg, done string, action func(zc *zoneConn, id int) error) error {
	zc, err := a.connect()
	if err != nil {
		return err
	}
	defer zc.Close()
	ids, err := zc.zoneIDs(ctx, arg)
	if err != nil {
		return err
	}
	failed := false
	for _, id := range ids {
		err := action(zc, id)
		if err == nil {
			err = a.verbose(id, done)
		}
		if err != nil {
			failed = true
			if _, werr := fmt.Fprintln(stderr, err); werr != nil {
				return werr
			}
		}
	}
	if failed {
		return cli.ErrReported
	}
	return nil
}

func (a *app) serverActionCmd(use, short, method, done string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use + " ZONEID SERVERID",
		Short: short,
		Args:  cli.ExactArgs(2, "ZONEID", "SERVERID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			zc, id, err := a.zoneConnect(ctx, args[0])
			if err != nil {
				return err
			}
			defer zc.Close()
			sid, err := zc.resolveServer(ctx, id, args[1])
			if err != nil {
				return err
			}
			if _, err := zc.write(ctx, method, id, sid); err != nil {
				return err
			}
			return a.verbose(id, done)
		},
	}
	return cmd
}

// verbose is OpenNebula's perform_action message with -v: "ZONE <id>:
// <msg>".
func (a *app) verbose(id int, msg string) error {
	if !a.verboseOn {
		return nil
	}
	_, err := fmt.Fprintf(a.stdout, "ZONE %d: %s\n", id, msg)
	return err
}

// ServerTemplate validates a server's name and endpoint and returns the
// one.zone.addserver template.
func ServerTemplate(name, endpoint string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%w: --name must not be empty", cli.ErrUsage)
	}
	if strings.ContainsAny(name, "\"\\[]=,") || strings.IndexFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) >= 0 {
		return "", fmt.Errorf("server name %q: must not contain quotes, backslashes, brackets, '=', ',' or control characters", name)
	}
	if err := cli.CheckURL(endpoint); err != nil {
		return "", fmt.Errorf("--rpc %w", err)
	}
	if strings.Contains(endpoint, `\`) {
		return "", fmt.Errorf("--rpc %q: must not contain backslashes", endpoint)
	}
	return fmt.Sprintf("SERVER = [ NAME = %q, ENDPOINT = %q ]", name, endpoint), nil
}
