package oned

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/oneha/oneha/hooks"
	"github.com/oneha/oneha/zone"
)

// Shutdown stops the server in order: the API stops accepting calls, a
// leader hands leadership away, Raft stops, then the FSM and database close
// and the data directory is unlocked. Idempotent.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() {
		s.log.Info("oned stopping")
		daemon.SdNotify(false, daemon.SdNotifyStopping)
		var errs []error
		s.handOverBeforeStop(ctx)
		if s.http != nil {
			hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := s.http.Shutdown(hctx); err != nil {
				// Calls still running, or connections accepted just now
				// (net/http waits up to 5 s for a new connection's first
				// request): close them rather than fail the stop.
				s.log.Info("closing API connections still open after the stop grace", "error", err)
				s.http.Close()
			}
			cancel()
		}
		if s.bgCancel != nil {
			s.bgCancel()
		}
		if s.node != nil {
			// Raft's shutdown waits for the batch the FSM is applying. A
			// runaway statement would hold it forever: after a grace
			// period the FSM is closed, which kills that statement (a
			// transient fault: the entry is applied again after restart).
			done := make(chan struct{})
			go func() {
				select {
				case <-done:
				case <-time.After(fsmStopGrace):
					s.log.Warn("raft shutdown waits for the FSM: closing it", "grace", fsmStopGrace)
					s.fsm.Close()
				}
			}()
			err := s.node.Shutdown(ctx)
			close(done)
			if err != nil {
				errs = append(errs, err)
			}
		}
		s.bg.Wait()
		if s.hooks != nil && s.hooks.Role() == hooks.Leader {
			// Run's own final step normally did this; make sure.
			s.hooks.Step(ctx, hooks.Follower, "shutdown")
		}
		errs = append(errs, s.close())
		s.stopErr = errors.Join(errs...)
		s.log.Info("oned stopped")
	})
	return s.stopErr
}

// handOverBeforeStop makes a graceful stop of the leader a handover, like
// one.zone.leadertransfer: while the API still serves (and forwards), it
// transfers leadership and waits until its follower actions ran, i.e. until
// the new leader reported holding the VIP and the grace period passed.
// Without a built-in VIP, other voters or when the transfer fails, it does
// nothing and Shutdown's own transfer (raftlog.Node.Shutdown) applies.
func (s *Server) handOverBeforeStop(ctx context.Context) {
	if s.vip == nil || s.hooks == nil || s.zone == nil || s.node == nil || !s.node.IsLeader() {
		return
	}
	tctx, cancel := context.WithTimeout(ctx, handoverMax+handoverGrace+5*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.transferWithHandover(tctx, s.cfg.Federation.ZoneID, zone.AnyServer, zone.ReasonGracefulStop); err != nil {
		s.log.Info("handover before stop: no transfer; stopping as is", "error", err)
		return
	}
	for s.hooks.Role() == hooks.Leader && tctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	s.log.Info("handover before stop done", "took", time.Since(start).Round(time.Millisecond))
}

// fsmStopGrace is how long Shutdown lets Raft wait for a running apply
// before closing the FSM under it (well within systemd's stop timeout).
const fsmStopGrace = 5 * time.Second

// close releases what New opened, in reverse order.
func (s *Server) close() error {
	var errs []error
	if s.fsm != nil {
		errs = append(errs, s.fsm.Close())
	}
	if s.peerTr != nil {
		s.peerTr.CloseIdleConnections()
	}
	if s.mux != nil {
		s.mux.Close()
	} else if s.ln != nil {
		s.ln.Close()
	}
	for _, db := range []*sql.DB{s.applyDB, s.db} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	if s.lock != nil {
		s.lock.Close()
	}
	return errors.Join(errs...)
}
