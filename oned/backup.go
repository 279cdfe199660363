package oned

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/backup"
	"github.com/oneha/oneha/sqlfsm"
)

// Scheduled backups (BACKUP: {DIR, INTERVAL_S, KEEP}).
//
// Every INTERVAL_S each server decides on its own whether it takes the
// backup, by a rule that gives one taker while the zone is healthy:
//   - a solo server always does;
//   - a follower does when it is a voter and no voter follower with a lower
//     server ID answers one.zone.raftstatus as a follower (the lowest-ID
//     healthy follower takes it, so the leader's disk and CPU are spared);
//   - the leader does only when no other voter answers as a follower (a
//     one-server zone, or every follower down).
//
// Two servers may both take one in a window where they see the zone
// differently (a follower just became unreachable from one of them); that
// costs a second file on another host, never a missing one.
//
// A backup is a backup.Snapshot of the local database (the consistent view
// Raft snapshots use, which never blocks the FSM), so its header records the
// applied index it holds. It is written to a temporary file (0600: the dump
// holds the whole database) in DIR, synced, verified (header and
// length/CRC-32C end line, as onedb restore checks them), renamed to the
// name onedb backup gives it, and DIR is synced. Only then are older dumps
// of this database beyond KEEP deleted; files that do not carry that name
// pattern are never touched. A backup is skipped when the applied index has
// not moved since this server's last one (never on a solo server, whose
// applied index stays 0). Failures are logged at Error and counted in
// /metrics; the next interval tries again.

// backupStats is what /metrics shows of the scheduled backups.
type backupStats struct {
	mu        sync.Mutex
	lastTime  time.Time
	lastIndex uint64
	taken     uint64
	failures  uint64
}

func (b *backupStats) snapshot() (last time.Time, index, taken, failures uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastTime, b.lastIndex, b.taken, b.failures
}

// maxBackupTime bounds one backup (dump, verify, rotation).
const maxBackupTime = time.Hour

// backupLoop takes scheduled backups until ctx ends; it returns at once
// without BACKUP.DIR.
func (s *Server) backupLoop(ctx context.Context) {
	b := s.cfg.Backup
	if b.Dir == "" {
		return
	}
	s.log.Info("scheduled backups on", "dir", b.Dir, "interval_s", b.IntervalS, "keep", b.Keep)
	t := time.NewTicker(time.Duration(b.IntervalS) * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.backupOnce(ctx)
	}
}

// backupOnce takes one scheduled backup if this server is the taker.
func (s *Server) backupOnce(ctx context.Context) {
	take, why := s.takesBackup(ctx)
	if !take {
		s.log.Debug("scheduled backup: another server takes it", "why", why)
		return
	}
	idx := s.fsm.AppliedIndex()
	if _, last, taken, _ := s.backups.snapshot(); s.node != nil && taken > 0 && idx == last {
		s.log.Debug("scheduled backup: nothing applied since the last one", "applied_index", idx)
		return
	}
	bctx, cancel := context.WithTimeout(ctx, maxBackupTime)
	defer cancel()
	start := time.Now()
	path, h, n, err := s.writeBackup(bctx)
	if err != nil {
		s.backups.mu.Lock()
		s.backups.failures++
		s.backups.mu.Unlock()
		s.log.Error("scheduled backup failed", "dir", s.cfg.Backup.Dir, "err", err)
		return
	}
	s.backups.mu.Lock()
	s.backups.lastTime, s.backups.lastIndex = start, h.AppliedIndex
	s.backups.taken++
	s.backups.mu.Unlock()
	s.log.Info("scheduled backup written", "file", path, "applied_index", h.AppliedIndex, "applied_term", h.AppliedTerm,
		"bytes", n, "took", time.Since(start).Round(time.Millisecond), "why", why)
	s.rotateBackups()
}

// writeBackup dumps the local database into a new file of BACKUP.DIR and
// returns its path and header.
func (s *Server) writeBackup(ctx context.Context) (string, backup.Header, int64, error) {
	dir := s.cfg.Backup.Dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", backup.Header{}, 0, err
	}
	d := s.cfg.Dialect()
	snap, err := backup.Begin(ctx, s.db, d, backup.Options{Last: sqlfsm.AppliedTable})
	if err != nil {
		return "", backup.Header{}, 0, err
	}
	defer snap.Close()
	final := filepath.Join(dir, backup.FileName(d, s.cfg.DB.Server, s.cfg.DB.Name, time.Now()))
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(final)+".tmp*") // 0600
	if err != nil {
		return "", backup.Header{}, 0, err
	}
	defer os.Remove(tmp.Name()) // after the rename this fails harmlessly
	n, err := snap.Write(ctx, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", backup.Header{}, 0, err
	}
	if err := verifyDump(tmp.Name(), snap.Header()); err != nil {
		return "", backup.Header{}, 0, err
	}
	if _, err := os.Lstat(final); err == nil {
		return "", backup.Header{}, 0, fmt.Errorf("%s exists (two backups in one second): not replaced", final)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", backup.Header{}, 0, err
	}
	if err := syncDir(dir); err != nil {
		return "", backup.Header{}, 0, err
	}
	return final, snap.Header(), n, nil
}

// verifyDump reads the written file back as onedb restore would check it.
func verifyDump(path string, want backup.Header) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h, err := backup.Verify(f)
	if err != nil {
		return fmt.Errorf("verify %s: %w", path, err)
	}
	if h.Dialect != want.Dialect || h.AppliedIndex != want.AppliedIndex || h.AppliedTerm != want.AppliedTerm || !h.Created.Equal(want.Created) {
		return fmt.Errorf("verify %s: header %q, want %q", path, h, want)
	}
	return nil
}

// syncDir makes a rename or removal in dir durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// rotateBackups deletes this database's dumps in BACKUP.DIR beyond the
// newest KEEP.
func (s *Server) rotateBackups() {
	b := s.cfg.Backup
	files, err := backup.Dumps(b.Dir, s.cfg.Dialect(), s.cfg.DB.Server, s.cfg.DB.Name)
	if err != nil {
		s.log.Warn("scheduled backup: rotation", "err", err)
		return
	}
	var errs []error
	for len(files) > b.Keep {
		if err := os.Remove(files[0]); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		} else {
			s.log.Info("scheduled backup rotated out", "file", files[0])
		}
		files = files[1:]
	}
	if err := errors.Join(append(errs, syncDir(b.Dir))...); err != nil {
		s.log.Warn("scheduled backup: rotation", "err", err)
	}
}

// backupProbeTimeout bounds each raftstatus call of takesBackup.
const backupProbeTimeout = 3 * time.Second

// takesBackup applies the taker rule above; why says who takes it.
func (s *Server) takesBackup(ctx context.Context) (bool, string) {
	if s.node == nil {
		return true, "solo"
	}
	leaderID, _ := s.node.Leader()
	if leaderID == "" {
		return false, "no leader"
	}
	conf, err := s.node.Configuration(ctx)
	if err != nil {
		return false, "raft configuration: " + err.Error()
	}
	me := s.node.ID()
	servers, err := listServers(ctx, s.db, s.cfg.Federation.ZoneID)
	if err != nil {
		return false, "zone table: " + err.Error()
	}
	endpoint := map[string]string{}
	for _, sv := range servers {
		endpoint[strconv.Itoa(sv.ID)] = sv.Endpoint
	}
	var followers []int
	meVoter := false
	for _, c := range conf {
		if c.Suffrage != raft.Voter {
			continue
		}
		id := string(c.ID)
		if id == me {
			meVoter = true
		}
		if id == leaderID {
			continue
		}
		if n, err := strconv.Atoi(id); err == nil {
			followers = append(followers, n)
		}
	}
	sort.Ints(followers)
	myID, _ := strconv.Atoi(me)
	if me != leaderID && !meVoter {
		return false, "not a voter"
	}
	for _, id := range followers {
		if me != leaderID && id >= myID {
			break // a follower defers only to lower IDs
		}
		ep := endpoint[strconv.Itoa(id)]
		if ep == "" {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, backupProbeTimeout)
		st, err := s.remoteStatus(pctx, ep)
		cancel()
		if err == nil && st.State == "follower" {
			return false, fmt.Sprintf("server %d (a healthy follower) takes it", id)
		}
	}
	if me == leaderID {
		return true, "leader without a healthy follower"
	}
	return true, "lowest-ID healthy follower"
}
