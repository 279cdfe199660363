package oned

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/oneha/oneha/federation"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/xmlrpc"
)

// fedSender is the master's federation.Sender: one.zone.fedreplicate on
// the slave zone's ENDPOINT with this server's oneadmin session.
type fedSender struct{ s *Server }

func (f fedSender) Replicate(ctx context.Context, z federation.Zone, rec sqlfsm.FedRecord, prev uint64) error {
	c := f.s.fedClient(z.Endpoint)
	_, err := c.CallONE(ctx, "one.zone.fedreplicate", f.s.auth.session(), int64(rec.Index), int64(prev),
		base64.StdEncoding.EncodeToString(rec.Data), f.s.fedTables().String())
	var xe *xmlrpc.Error
	if errors.As(err, &xe) && xe.Code == xmlrpc.ReplicationError {
		if last, ok := outdatedIndex(xe.Message); ok {
			return &federation.GapError{Last: last}
		}
	}
	return err
}

// Snapshot bounds: the dump of the federated tables, and what crosses
// the wire (compressed, base64) within the API's body limit.
const (
	maxFedDump    = 64 << 20
	maxFedSnapArg = xmlrpc.DefaultMaxBody - 64<<10
)

// fedSnapshotTimeout bounds one snapshot round: the slave fetches the
// dump from MASTER_ONED and commits it through its log.
const fedSnapshotTimeout = 4 * time.Minute // under the server's apiWriteTimeout

// Snapshot asks the slave zone to fetch the master's snapshot itself
// (one.zone.fedsnapshot): what a slave loads never comes from its caller.
func (f fedSender) Snapshot(ctx context.Context, z federation.Zone) (uint64, error) {
	c := f.s.fedClientTimeout(z.Endpoint, fedSnapshotTimeout)
	v, err := c.CallONE(ctx, "one.zone.fedsnapshot", f.s.auth.session(), f.s.fedTables().String())
	var xe *xmlrpc.Error
	if errors.As(err, &xe) && xe.Code == xmlrpc.ReplicationError {
		if last, ok := outdatedIndex(xe.Message); ok {
			return 0, &federation.GapError{Last: last}
		}
	}
	if errors.As(err, &xe) && xe.Code == xmlrpc.ReplicationError {
		// It fetched the snapshot and could not apply it (or refused it):
		// trying again at once would reload every table for nothing.
		return 0, fmt.Errorf("%w: %w", federation.ErrRefused, err)
	}
	if err != nil {
		return 0, err
	}
	n, _ := v.(int64)
	return uint64(n), nil
}

// one.zone.feddump(session, tables) (OneHA's own) → [index, dump]: this
// master server's federated tables, DEFLATE and base64, dumped in one read
// view with the federation index they hold (FSM.FedSnapshot). A slave
// zone's leader calls it on MASTER_ONED when the records it needs were
// purged. Any server of the master zone answers from its own database.
func (s *Server) fedDump(ctx context.Context, p []any) (any, error) {
	if s.fedMode() != federation.Master {
		return nil, oneErr(xmlrpc.ReplicationError, "Federated tables are dumped by the federation master only")
	}
	tables, err := s.callerTables(p, 0, true)
	if err != nil {
		return nil, err
	}
	idx, dump, err := s.fsm.FedSnapshot(ctx, tables.List(), maxFedDump)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.BestCompression)
	zw.Write(dump)
	zw.Close()
	arg := base64.StdEncoding.EncodeToString(buf.Bytes())
	if len(arg) > maxFedSnapArg {
		return nil, oneErr(xmlrpc.ActionError, "%v: %d bytes compressed; seed the slave with onedb backup --federated and onedb restore --federated", sqlfsm.ErrTooLarge, len(arg))
	}
	return []any{int64(idx), arg}, nil
}

// fedLoop runs the master zone's stream while this server is its ready
// leader: the replicator starts with each term and stops when leadership
// ends.
func (s *Server) fedLoop(ctx context.Context) {
	var stop context.CancelFunc
	done := make(chan struct{})
	close(done)
	defer func() {
		if stop != nil {
			stop()
		}
		<-done
	}()
	check := func() {
		if s.node.IsLeader() {
			if stop != nil {
				return
			}
			lctx, c := context.WithCancel(ctx)
			stop = c
			done = make(chan struct{})
			d := done
			go func() {
				defer close(d)
				if err := s.node.WaitReady(lctx); err != nil {
					return
				}
				s.log.Info("federation: streaming to the slave zones")
				s.fedRep.Run(lctx)
			}()
			return
		}
		if stop != nil {
			stop()
			<-done
			stop = nil
		}
	}
	s.onEachChange(ctx, check)
}

// newReplicator builds the master's replicator: every zone of the zone
// table but this one is a slave zone.
func (s *Server) newReplicator() *federation.Replicator {
	return &federation.Replicator{
		Src:  fedSource{s},
		Send: fedSender{s},
		Log:  s.log,
		Zones: func(ctx context.Context) ([]federation.Zone, error) {
			zs, err := s.zone.Pool(ctx)
			if err != nil {
				return nil, err
			}
			var out []federation.Zone
			for _, z := range zs {
				if z.ID != s.cfg.Federation.ZoneID && z.Endpoint != "" {
					out = append(out, federation.Zone{ID: z.ID, Endpoint: z.Endpoint})
				}
			}
			return out, nil
		},
	}
}

// fedSource reads the federation log of the server's FSM (opened after
// the replicator is built).
type fedSource struct{ s *Server }

func (f fedSource) FedRecords(ctx context.Context, from uint64, max int) ([]sqlfsm.FedRecord, uint64, error) {
	return f.s.fsm.FedRecords(ctx, from, max)
}

func (f fedSource) FedLast(ctx context.Context) (uint64, error) { return f.s.fsm.FedLast(ctx) }
