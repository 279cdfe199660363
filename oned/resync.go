package oned

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/oneha/oneha/backup"
	"github.com/oneha/oneha/xmlrpc"
)

// ExitResync is oned's exit status after accepting a resync: systemd
// (Restart=on-failure) starts it again, and the new process wipes its state
// and rejoins empty.
const ExitResync = 75

// ErrResync: the server stopped to resync from the leader (after
// RestartRequested); cmd/oned returns it and exits with ExitResync.
var ErrResync = errors.New("stopped to resync from the leader")

func (s *Server) resyncMarker() string { return filepath.Join(s.cfg.DataDir, "RESYNC") }

// resync (ours: one.zone.resync, sent by the leader during server-reset)
// marks the data directory and stops this server; the next start wipes the
// database and the Raft state so the leader re-sends everything.
func (s *Server) resync(context.Context, []any) (any, error) {
	if s.node == nil {
		return nil, badParam("a solo server has nothing to resync from")
	}
	if err := os.WriteFile(s.resyncMarker(), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("mark resync: %w", err)
	}
	s.log.Warn("resync requested by the leader: stopping; the next start wipes this server's database and Raft state")
	s.restartOnce.Do(func() { close(s.restart) })
	return true, nil
}

// wipeIfMarked finishes a resync at start: it drops every table of the
// local database and the Raft directory, then removes the marker. Run
// before the FSM opens.
func (s *Server) wipeIfMarked(ctx context.Context) error {
	if _, err := os.Stat(s.resyncMarker()); err != nil {
		return nil
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

// remoteResync asks the server at endpoint to resync.
func (s *Server) remoteResync(ctx context.Context, endpoint string) error {
	_, err := xmlrpc.NewClient(endpoint, s.cfg.XMLRPCTimeout()+time.Second).CallONE(ctx, "one.zone.resync", s.auth.session())
	return err
}
