package oned

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"errors"
	"fmt"

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

func (f fedSender) Snapshot(ctx context.Context, z federation.Zone) (uint64, error) {
	tables := f.s.fedTables()
	idx, dump, err := f.s.fsm.FedSnapshot(ctx, tables.List(), maxFedDump)
	if err != nil {
		return 0, err
	}
	var buf bytes.Buffer
	zw, _ := flate.NewWriter(&buf, flate.BestCompression)
	zw.Write(dump)
	zw.Close()
	arg := base64.StdEncoding.EncodeToString(buf.Bytes())
	if len(arg) > maxFedSnapArg {
		return 0, fmt.Errorf("%w: %d bytes compressed; seed the slave with onedb backup --federated and onedb restore --federated", sqlfsm.ErrTooLarge, len(arg))
	}
	c := f.s.fedClient(z.Endpoint)
	v, err := c.CallONE(ctx, "one.zone.fedsnapshot", f.s.auth.session(), int64(idx), arg, tables.String())
	var xe *xmlrpc.Error
	if errors.As(err, &xe) && xe.Code == xmlrpc.ReplicationError {
		if last, ok := outdatedIndex(xe.Message); ok {
			return 0, &federation.GapError{Last: last}
		}
	}
	if err != nil {
		return 0, err
	}
	n, _ := v.(int64)
	return uint64(n), nil
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
