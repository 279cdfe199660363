package oned

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/oneha/oneha/backup"
	"github.com/oneha/oneha/xmlrpc"
	"github.com/oneha/oneha/zone"
)

// ExitResync is oned's exit status after accepting a resync: systemd
// (Restart=on-failure) starts it again, and the new process wipes its state
// and rejoins empty.
const ExitResync = 75

// ErrResync: the server stopped to resync from the leader (after
// RestartRequested); cmd/oned returns it and exits with ExitResync.
var ErrResync = errors.New("stopped to resync from the leader")

// resyncWait bounds how long a server waits for its applied index to reach
// the leader's reset token before refusing.
const resyncWait = 5 * time.Second

// usedResyncTokens is how many used token hashes a server remembers.
const usedResyncTokens = 32

func (s *Server) resyncMarker() string { return filepath.Join(s.cfg.DataDir, "RESYNC") }

// usedResyncFile lists the SHA-256 of every reset token this server
// accepted (newest last), so a token is never accepted twice, even after
// the wipe replays the row that authorised it.
func (s *Server) usedResyncFile() string { return filepath.Join(s.cfg.DataDir, "RESYNC.used") }

// resync (ours: one.zone.resync(session, token, index), sent by the leader
// during server-reset) marks the data directory and stops this server; the
// next start wipes the database and the Raft state so the leader re-sends
// everything. It accepts only when this server is not the leader, the
// caller is the current leader (its verified zone certificate says so;
// only with INSECURE_RAFT is there no certificate to check),
// the token was not used before, and this server's own replicated copy of
// the zone state holds that token for this server, unexpired (waiting up
// to resyncWait for the applied index to reach index). Tokens are never
// logged; the marker and the used list hold their SHA-256 only.
func (s *Server) resync(ctx context.Context, p []any) (any, error) {
	if s.node == nil {
		return nil, badParam("a solo server has nothing to resync from")
	}
	token, err := xmlrpc.ParamString(p, 0)
	if err != nil {
		return nil, fmt.Errorf("%w: a resync needs the leader's one-time token: run onezone server-reset on the leader", zone.ErrResetRefused)
	}
	var index uint64
	if len(p) > 1 {
		n, err := xmlrpc.ParamInt(p, 1)
		if err != nil || n < 0 {
			return nil, badParam("index must be a non-negative integer")
		}
		index = uint64(n)
	}
	if s.node.IsLeader() {
		return nil, fmt.Errorf("%w: this server is the leader; transfer leadership first", zone.ErrResetRefused)
	}
	leaderID, _ := s.node.Leader()
	peer, ok := peerServerID(ctx)
	if !ok && !s.cfg.InsecureRaft {
		return nil, fmt.Errorf("%w: a resync must come from the leader over the zone's mutual TLS", zone.ErrResetRefused)
	}
	if ok {
		if peer.zoneID != s.cfg.Federation.ZoneID || strconv.Itoa(peer.serverID) != leaderID {
			return nil, fmt.Errorf("%w: the caller (zone %d, server %d) is not the current leader (server %q)",
				zone.ErrResetRefused, peer.zoneID, peer.serverID, leaderID)
		}
	}
	hash := zone.ResetTokenHash(token)
	if s.resyncTokenUsed(hash) {
		return nil, fmt.Errorf("%w: this token was already used", zone.ErrResetRefused)
	}
	wctx, cancel := context.WithTimeout(ctx, resyncWait)
	defer cancel()
	if err := s.zone.CheckResetToken(wctx, token, index); err != nil {
		s.log.Warn("resync refused", "error", err)
		return nil, err
	}
	// O_EXCL: of two calls racing with the same token, one marks.
	f, err := os.OpenFile(s.resyncMarker(), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%w: a resync is already in progress", zone.ErrResetRefused)
		}
		return nil, fmt.Errorf("mark resync: %w", err)
	}
	_, err = fmt.Fprintf(f, "%s %s\n", time.Now().UTC().Format(time.RFC3339), hash)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = s.recordResyncToken(hash)
	}
	if err != nil {
		os.Remove(s.resyncMarker())
		return nil, fmt.Errorf("mark resync: %w", err)
	}
	s.log.Warn("resync requested by the leader: stopping; the next start wipes this server's database and Raft state", "leader", leaderID)
	s.restartOnce.Do(func() { close(s.restart) })
	return true, nil
}

// resyncTokenUsed reports whether hash is in the used list or the pending
// marker. Constant-time comparison per entry.
func (s *Server) resyncTokenUsed(hash string) bool {
	var seen []string
	for _, path := range []string{s.usedResyncFile(), s.resyncMarker()} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		seen = append(seen, strings.Fields(string(b))...)
	}
	used := 0
	for _, h := range seen {
		used |= subtle.ConstantTimeCompare([]byte(h), []byte(hash))
	}
	return used == 1
}

// recordResyncToken appends hash to the used list, keeping the newest
// usedResyncTokens (written to a temporary file, synced, then renamed).
func (s *Server) recordResyncToken(hash string) error {
	var list []string
	if b, err := os.ReadFile(s.usedResyncFile()); err == nil {
		list = strings.Fields(string(b))
	}
	list = append(list, hash)
	if len(list) > usedResyncTokens {
		list = list[len(list)-usedResyncTokens:]
	}
	tmp := s.usedResyncFile() + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strings.Join(list, "\n") + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, s.usedResyncFile())
}

// wipeIfMarked finishes a resync at start: it records the marker's token
// as used, drops every table of the local database and the Raft directory,
// then removes the marker. Run before the FSM opens.
func (s *Server) wipeIfMarked(ctx context.Context) error {
	b, err := os.ReadFile(s.resyncMarker())
	if err != nil {
		return nil
	}
	if f := strings.Fields(string(b)); len(f) == 2 && !s.resyncTokenUsed(f[1]) {
		if err := s.recordResyncToken(f[1]); err != nil {
			return fmt.Errorf("resync: record the used token: %w", err)
		}
	}
	if err := backup.Wipe(ctx, s.db, s.cfg.Dialect()); err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	if err := os.RemoveAll(filepath.Join(s.cfg.DataDir, "raft")); err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	if err := os.Remove(s.resyncMarker()); err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	s.log.Warn("resync: wiped the database and the Raft state; waiting for the leader to send everything")
	return nil
}

// RestartRequested is closed when the server must stop and start again
// (a resync); the caller shuts it down and exits with ExitResync.
func (s *Server) RestartRequested() <-chan struct{} { return s.restart }

// remoteResync asks the server at endpoint to resync, with the one-time
// token the leader wrote for it at log index index.
func (s *Server) remoteResync(ctx context.Context, endpoint, token string, index uint64) error {
	c := s.peerClient(endpoint, resyncWait+s.cfg.XMLRPCTimeout()+time.Second)
	_, err := c.CallONE(ctx, "one.zone.resync", s.auth.session(), token, int64(index))
	return err
}
