package oned

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/raftlog"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/zone"
)

// ErrRecover wraps every refusal of `oned recover`.
var ErrRecover = errors.New("recover")

// MaxRecoverServers bounds --servers (a zone has 3–7 servers; this is
// generous).
const MaxRecoverServers = 64

// maxMarkerSize bounds the recovery marker oned reads at start.
const maxMarkerSize = 1 << 20

// RecoveredFile is the marker `oned recover --yes` leaves in DATA_DIR: the
// recovered configuration and the zone table rows of the lost servers (JSON,
// zone.Recovery). The first time this server leads with that configuration
// it deletes those rows through the log, then removes the file.
const RecoveredFile = "RECOVERED"

// RecoverOptions are `oned recover`'s flags.
type RecoverOptions struct {
	// Servers are the surviving server IDs the new configuration holds, all
	// as voters; empty means this server alone. It must include this server.
	Servers []int
	// Yes acts; without it Recover prints the plan and changes nothing.
	Yes bool
}

// ParseServerIDs parses --servers ("1,2,4"): non-negative integers, no
// duplicates, at most MaxRecoverServers.
func ParseServerIDs(s string) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) > MaxRecoverServers {
		return nil, fmt.Errorf("%w: --servers: %d IDs, at most %d", ErrRecover, len(parts), MaxRecoverServers)
	}
	var ids []int
	for _, p := range parts {
		id, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || id < 0 {
			return nil, fmt.Errorf("%w: --servers: %q is not a server ID", ErrRecover, p)
		}
		if slices.Contains(ids, id) {
			return nil, fmt.Errorf("%w: --servers: %d given twice", ErrRecover, id)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// Recover is `oned recover`, the way out of a majority loss (Consul's,
// Nomad's and rqlite's peers.json procedure, without the JSON). On a
// stopped server it prints the plan: this server's Raft configuration and
// zone table, and the configuration it will start with (opts.Servers, all
// voters). With opts.Yes it rewrites the Raft state (raftlog.Recover: every
// entry of the local log is applied, a snapshot holds the new
// configuration) and leaves RecoveredFile, so the first leader of the
// recovered configuration deletes the lost servers' zone rows through the
// log. It refuses (ErrRecover, or ErrLocked while oned runs) a solo server,
// a server with no Raft state, one marked for a resync, and IDs that are
// neither in the Raft configuration nor in the zone table.
func Recover(ctx context.Context, cfg Config, opts RecoverOptions, out io.Writer, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	self := cfg.Federation.ServerID
	if cfg.Solo() {
		return fmt.Errorf("%w: FEDERATION.SERVER_ID is -1: a solo server has no Raft configuration", ErrRecover)
	}
	if _, err := os.Stat(cfg.DataDir); err != nil {
		return fmt.Errorf("%w: DATA_DIR: %w", ErrRecover, err)
	}
	lock, err := LockDataDir(cfg.DataDir)
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return fmt.Errorf("%w; stop oned on this server first (systemctl stop oned)", err)
		}
		return err
	}
	defer lock.Close()
	s := &Server{cfg: cfg, log: log}
	if _, err := os.Stat(s.resyncMarker()); err == nil {
		return fmt.Errorf("%w: %s exists: this server was reset and wipes itself at its next start; recover another survivor", ErrRecover, s.resyncMarker())
	}
	if err := s.openDB(ctx); err != nil {
		return err
	}
	defer s.close()
	rc := cfg.RaftNodeConfig()
	rc.Logger = log
	off, err := raftlog.ReadOffline(ctx, rc)
	if err != nil {
		return err
	}
	if !off.HasState {
		return fmt.Errorf("%w: no Raft state in %s: this server never was part of a zone; nothing to recover", ErrRecover, rc.Dir)
	}
	rows, err := listServers(ctx, s.db, cfg.Federation.ZoneID)
	if err != nil {
		return err
	}
	if s.fsm, err = sqlfsm.New(ctx, sqlfsm.Config{Dialect: cfg.Dialect(), DB: s.db, ApplyDB: s.applyDB, Logger: log}); err != nil {
		return err
	}
	kept := opts.Servers
	if len(kept) == 0 {
		kept = []int{self}
	}
	if !slices.Contains(kept, self) {
		return fmt.Errorf("%w: --servers %v does not include this server (%d): run recover on a survivor it names", ErrRecover, kept, self)
	}
	servers, err := recoveredServers(kept, rows, off.Servers)
	if err != nil {
		return err
	}
	printPlan(out, self, off, s.fsm.AppliedIndex(), rows, servers, kept)
	if !opts.Yes {
		fmt.Fprintln(out, "\nNothing changed. Run again with --yes to recover.")
		return nil
	}
	if err := raftlog.Recover(ctx, rc, s.fsm, servers); err != nil {
		return fmt.Errorf("%w: %w", ErrRecover, err)
	}
	// The log's tail is in the database now: its zone table is the one the
	// recovered leader starts with.
	if rows, err = listServers(ctx, s.db, cfg.Federation.ZoneID); err != nil {
		return err
	}
	r := zone.RecoveryFor(kept, rows)
	if err := writeRecovered(cfg.DataDir, r); err != nil {
		return fmt.Errorf("%w: the Raft configuration is recovered, but the marker could not be written (after the start, onezone server-del the lost servers): %w", ErrRecover, err)
	}
	fmt.Fprintf(out, "\nRecovered: the Raft configuration is now %s.\n", idList(kept))
	fmt.Fprintln(out, "Start oned on the survivor(s) named; once it leads, `onezone show` lists only them.")
	fmt.Fprintln(out, "Then add servers one at a time with onezone server-add (a host that was in the zone: wipe its DATA_DIR and database first).")
	return nil
}

// recoveredServers resolves kept to raft servers: the address from the
// zone table's ENDPOINT when listed, else from the Raft configuration.
func recoveredServers(kept []int, rows []zone.Server, conf []raft.Server) ([]raft.Server, error) {
	var out []raft.Server
	for _, id := range kept {
		var addr string
		if i := slices.IndexFunc(rows, func(s zone.Server) bool { return s.ID == id }); i >= 0 {
			a, err := zone.RaftAddress(rows[i].Endpoint)
			if err != nil {
				return nil, fmt.Errorf("%w: server %d: %w", ErrRecover, id, err)
			}
			addr = a
		} else if i := slices.IndexFunc(conf, func(s raft.Server) bool { return string(s.ID) == strconv.Itoa(id) }); i >= 0 {
			addr = string(conf[i].Address)
		} else {
			return nil, fmt.Errorf("%w: server %d is neither in the zone table nor in the Raft configuration (known: %s)", ErrRecover, id, knownIDs(rows, conf))
		}
		out = append(out, raft.Server{ID: raft.ServerID(strconv.Itoa(id)), Address: raft.ServerAddress(addr), Suffrage: raft.Voter})
	}
	return out, nil
}

func knownIDs(rows []zone.Server, conf []raft.Server) string {
	var ids []int
	for _, s := range rows {
		ids = append(ids, s.ID)
	}
	for _, s := range conf {
		if n, err := strconv.Atoi(string(s.ID)); err == nil && !slices.Contains(ids, n) {
			ids = append(ids, n)
		}
	}
	slices.Sort(ids)
	return idList(ids)
}

func idList(ids []int) string {
	if len(ids) == 0 {
		return "none"
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(id)
	}
	return strings.Join(s, ", ")
}

// printPlan prints what Recover found and will do.
func printPlan(w io.Writer, self int, off raftlog.Offline, applied uint64, rows []zone.Server, servers []raft.Server, kept []int) {
	fmt.Fprintf(w, "This server: %d. Raft log: last index %d (snapshot %d); database applied index %d.\n",
		self, off.LastIndex, off.SnapshotIndex, applied)
	fmt.Fprintln(w, "\nNow (zone table and Raft configuration):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tENDPOINT\tRAFT\tAFTER")
	seen := map[string]bool{}
	line := func(id, name, endpoint string) {
		raftRole := "-"
		if i := slices.IndexFunc(off.Servers, func(s raft.Server) bool { return string(s.ID) == id }); i >= 0 {
			raftRole = strings.ToLower(off.Servers[i].Suffrage.String())
		}
		after := "lost: removed"
		if n, err := strconv.Atoi(id); err == nil && slices.Contains(kept, n) {
			after = "voter"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", id, name, endpoint, raftRole, after)
		seen[id] = true
	}
	for _, s := range rows {
		line(strconv.Itoa(s.ID), s.Name, s.Endpoint)
	}
	for _, s := range off.Servers {
		if !seen[string(s.ID)] {
			line(string(s.ID), "-", string(s.Address)+" (raft)")
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "\nNew Raft configuration, all voters:")
	for _, s := range servers {
		fmt.Fprintf(w, " %s (%s)", s.ID, s.Address)
	}
	fmt.Fprintln(w)
	if off.LastIndex > applied {
		fmt.Fprintf(w, "Entries %d..%d of this server's log are applied to its database first; the last ones may never have been acknowledged to a client.\n",
			applied+1, off.LastIndex)
	}
	fmt.Fprintln(w, "The lost servers' zone table rows are deleted through the log when the recovered zone first elects a leader.")
	if len(servers) > 1 {
		fmt.Fprintln(w, "Run the same command, with the same --servers, on every survivor named before starting any of them.")
	}
}

func recoveredPath(dataDir string) string { return filepath.Join(dataDir, RecoveredFile) }

// writeRecovered writes the marker atomically (temp file, fsync, rename).
func writeRecovered(dataDir string, r zone.Recovery) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	tmp := recoveredPath(dataDir) + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, recoveredPath(dataDir))
}

// readRecovered reads the marker (nil, nil when there is none).
func readRecovered(dataDir string) (*zone.Recovery, error) {
	f, err := os.Open(recoveredPath(dataDir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recovery marker: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxMarkerSize+1))
	if err != nil {
		return nil, fmt.Errorf("recovery marker: %w", err)
	}
	if len(b) > maxMarkerSize {
		return nil, fmt.Errorf("recovery marker %s: larger than %d bytes", recoveredPath(dataDir), maxMarkerSize)
	}
	var r zone.Recovery
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("recovery marker %s: %w", recoveredPath(dataDir), err)
	}
	if len(r.Servers) == 0 {
		return nil, fmt.Errorf("recovery marker %s: no servers", recoveredPath(dataDir))
	}
	return &r, nil
}
