package oned

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/oneha/oneha/federation"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/xmlrpc"
)

// one.zone.fedreplicate(session, index, prev_index, record, tables):
// the master zone's leader hands this slave zone federation record index
// (base64 of sqlfsm.EncodeRecord), to apply after prev_index, and its
// FEDERATED_TABLES. Leader only (followers forward). Answers index once
// applied by this zone; on a gap OpenNebula's REPLICATION failure "Zone log
// is outdated last log index is N" with N as a fourth item. Refused on a
// master or a standalone zone, and when the table lists differ (naming the
// tables).
func (s *Server) fedReplicate(ctx context.Context, p []any) (any, error) {
	a, err := s.fedCallArgs(p, true)
	if err != nil {
		return nil, err
	}
	index, prev, b64 := a.index, a.prev, a.data
	if index < 1 || prev != index-1 {
		return nil, badParam("index %d after %d: want prev_index = index - 1", index, prev)
	}
	if b64 == "" {
		return nil, oneErr(xmlrpc.ReplicationError, "Empty SQL command in federated log record")
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, badParam("record: %v", err)
	}
	rec, err := sqlfsm.DecodeRecord(raw)
	if err != nil {
		return nil, badParam("record: %v", err)
	}
	// The master's clock, within reason: every later entry of this zone
	// takes a time after the newest applied one.
	if ahead := time.Until(rec.Context.Time); ahead > maxFedClockAhead {
		return nil, oneErr(xmlrpc.ReplicationError, "Error replicating log entry %d: its time is %v ahead of this server's clock (at most %v): check the clocks",
			index, ahead.Round(time.Second), maxFedClockAhead)
	}
	// Only what the master itself would have logged: federated tables,
	// none of OneHA's, and (in ApplyRecord) SQL the checker accepts.
	if err := s.reserved.refuse(s.fsm.Dialect(), rec.Statements); err != nil {
		return nil, oneErr(xmlrpc.ReplicationError, "Error replicating log entry %d: %v", index, err)
	}
	if class, err := s.classifyWrite(ctx, rec.Statements); err != nil || class != federation.Federated {
		return nil, oneErr(xmlrpc.ReplicationError, "Error replicating log entry %d: not a write on federated tables only (%v)", index, err)
	}
	res, err := s.sql.ApplyRecord(ctx, rec, uint64(index), uint64(prev))
	if errors.Is(err, sqlfsm.ErrSQL) {
		s.log.Error("federation: a record from the master failed here; the stream stops at it until the federated tables are repaired",
			"index", index, "err", err)
	}
	if ans := fedAnswer("one.zone.fedreplicate", index, err); ans != nil {
		return nil, ans
	}
	if err != nil {
		return nil, err
	}
	return int64(res.FedIndex), nil
}

// one.zone.fedsnapshot(session, tables) (OneHA's own): the master zone's
// leader tells this slave zone that the records it needs were purged from
// the master's log. This zone's leader fetches the master's snapshot
// itself from MASTER_ONED (one.zone.feddump: the federated tables and
// their index; the caller supplies no data), checks it, and commits it
// through its own log. Answers the index once applied; a zone that already
// holds that index or more answers as fedreplicate does on a gap.
func (s *Server) fedSnapshot(ctx context.Context, p []any) (any, error) {
	if s.fedMode() != federation.Slave {
		return nil, oneErr(xmlrpc.ReplicationError, "Cannot replicate federate log records on federation master")
	}
	tables, err := s.callerTables(p, 0, false)
	if err != nil {
		return nil, err
	}
	v, err := s.fedClientTimeout(s.cfg.Federation.MasterOned, fedSnapshotTimeout).CallONE(ctx, "one.zone.feddump", s.auth.session(), tables.String())
	if err != nil {
		return nil, oneErr(xmlrpc.InternalError, "fetching the master's snapshot from %s: %v", s.cfg.Federation.MasterOned, err) // transient: the master retries soon
	}
	ans, _ := v.([]any)
	if len(ans) != 2 {
		return nil, oneErr(xmlrpc.InternalError, "the master's snapshot answer is malformed")
	}
	index, _ := ans[0].(int64)
	b64, _ := ans[1].(string)
	if index < 1 {
		return nil, oneErr(xmlrpc.ReplicationError, "the master's snapshot holds index %d", index)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, oneErr(xmlrpc.ReplicationError, "the master's snapshot: %v", err)
	}
	dump, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(raw)), maxFedDump+1))
	if err != nil || len(dump) > maxFedDump {
		return nil, oneErr(xmlrpc.ReplicationError, "the master's snapshot: not DEFLATE data of at most %d bytes (%v)", maxFedDump, err)
	}
	if err := federation.CheckSnapshot(s.fsm.Dialect(), string(dump), tables); err != nil {
		return nil, oneErr(xmlrpc.ReplicationError, "%v", err)
	}
	s.log.Info("federation: replacing the federated tables with the master's snapshot", "index", index, "bytes", len(dump))
	res, err := s.sql.ApplySnapshot(ctx, uint64(index), string(dump), tables.List())
	if ans := fedAnswer("one.zone.fedsnapshot", index, err); ans != nil {
		return nil, ans
	}
	if err != nil {
		return nil, err
	}
	return int64(res.FedIndex), nil
}

// maxFedClockAhead bounds how far ahead of this server's clock a record's
// time may be.
const maxFedClockAhead = 5 * time.Minute

// fedArgs are the parameters of fedreplicate (index, prev, data, tables)
// and fedsnapshot (index, data, tables).
type fedArgs struct {
	index, prev int64
	data        string
}

// fedCallArgs reads them, after refusing the call off a slave and when
// the master's FEDERATED_TABLES differ from this zone's (naming them).
func (s *Server) fedCallArgs(p []any, withPrev bool) (fedArgs, error) {
	var a fedArgs
	if s.fedMode() != federation.Slave {
		return a, oneErr(xmlrpc.ReplicationError, "Cannot replicate federate log records on federation master")
	}
	var err error
	if a.index, err = xmlrpc.ParamInt(p, 0); err != nil {
		return a, err
	}
	i := 1
	if withPrev {
		if a.prev, err = xmlrpc.ParamInt(p, 1); err != nil {
			return a, err
		}
		i++
	}
	if a.data, err = xmlrpc.ParamString(p, i); err != nil {
		return a, err
	}
	_, err = s.callerTables(p, i+1, false)
	return a, err
}

// callerTables reads the FEDERATED_TABLES list another zone sent as
// parameter i and refuses it, naming the tables, unless it equals this
// zone's, which it returns. The message speaks from the slave's side
// ("only here" is the slave's): onMaster says which side this is.
func (s *Server) callerTables(p []any, i int, onMaster bool) (federation.Tables, error) {
	list, err := xmlrpc.ParamString(p, i)
	if err != nil {
		return nil, err
	}
	theirs, err := federation.ParseList(list)
	if err != nil {
		return nil, badParam("tables: %v", err)
	}
	mine, slave, master := s.fedTables(), s.fedTables(), theirs
	if onMaster {
		slave, master = theirs, mine
	}
	if err := federation.Same(slave, master); err != nil {
		return nil, oneErr(xmlrpc.ReplicationError, "%v", err)
	}
	return mine, nil
}

// fedAnswer is the REPLICATION answer of a federation entry that did not
// apply (a gap, or an SQL error), nil for other outcomes.
func fedAnswer(method string, index int64, err error) error {
	var gap *sqlfsm.FedGapError
	if errors.As(err, &gap) {
		return &rawAnswer{[]any{false, fmt.Sprintf("[%s] Zone log is outdated last log index is %d", method, gap.Last),
			int64(xmlrpc.ReplicationError), int64(gap.Last)}}
	}
	if errors.Is(err, sqlfsm.ErrSQL) {
		return &rawAnswer{[]any{false, fmt.Sprintf("[%s] Error replicating log entry %d: %v", method, index, err),
			int64(xmlrpc.ReplicationError), index}}
	}
	return nil
}

// outdatedIndex reads N from "... Zone log is outdated last log index is N".
func outdatedIndex(msg string) (uint64, bool) {
	// Only the gap answer, whole: "[method] Zone log is outdated last log
	// index is N". Other failures may quote row data holding anything.
	const marker = "Zone log is outdated last log index is "
	_, rest, ok := strings.Cut(msg, "] ")
	if !ok || !strings.HasPrefix(rest, marker) {
		return 0, false
	}
	n, err := strconv.ParseUint(rest[len(marker):], 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}
