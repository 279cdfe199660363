package oned

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/oneha/oneha/federation"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/xmlrpc"
)

// Federation (FEDERATION MODE MASTER/SLAVE): see package federation. This
// file wires it into oned: which writes are federated (one.sql.exec), the
// master zone leader's stream to the slave zones, and the slave side of
// one.zone.fedreplicate.

// fedMode is FEDERATION.MODE, upper case.
func (s *Server) fedMode() string { return strings.ToUpper(s.cfg.Federation.Mode) }

// rawAnswer is an XML-RPC answer a handler gives as is (not wrapped as a
// success): a failure relayed from the master zone, or fedreplicate's
// four-element REPLICATION failure.
type rawAnswer struct{ v []any }

func (r *rawAnswer) Error() string { return fmt.Sprint(r.v...) }

// fedTables is the configured federated tables (validated at start).
func (s *Server) fedTables() federation.Tables {
	t, _ := federation.NewTables(s.cfg.Federation.Tables)
	return t
}

// classifyWrite is the federation class of a one.sql.exec transaction:
// Local on a STANDALONE zone, else federation.Classify against this
// server's tables. A mixed transaction is an ACTION error, refused before
// anything is logged.
func (s *Server) classifyWrite(ctx context.Context, stmts []sqlfsm.Statement) (federation.Class, error) {
	if s.fedMode() == federation.Standalone {
		return federation.Local, nil
	}
	texts := make([]string, len(stmts))
	for i, st := range stmts {
		texts[i] = st.SQL
	}
	c, err := federation.Classify(ctx, s.fsm.Dialect(), texts, s.fedTables(), s.listTables)
	if errors.Is(err, federation.ErrMixed) {
		return c, oneErr(xmlrpc.ActionError, "%v", err)
	}
	return c, err
}

// listTables lists this server's tables and views.
func (s *Server) listTables(ctx context.Context) ([]string, error) {
	q := `SELECT name FROM sqlite_master WHERE type IN ('table', 'view')`
	if s.fsm.Dialect() == sqlcheck.MySQL {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()`
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// execFederated runs a federated transaction: on the master through its
// own log (it takes the next federation index, and the stream is woken),
// on a slave by forwarding it to the master zone (MASTER_ONED), whose
// answer is the client's. The slave's own copy arrives through the stream.
func (s *Server) execFederated(ctx context.Context, p []any, stmts []sqlfsm.Statement, req *sqlfsm.Request) (*sqlfsm.Result, error) {
	if n := recordSize(stmts); n > maxFedRecord {
		return nil, oneErr(xmlrpc.ActionError, "a federated transaction of %d bytes is over the %d that the stream to slave zones carries; split it", n, maxFedRecord)
	}
	if s.fedMode() == federation.Master {
		res, err := s.sql.ExecFederated(ctx, stmts, req, uint64(s.cfg.Federation.LogRetention))
		if err == nil && s.fedRep != nil {
			s.fedRep.Notify()
		}
		return res, err
	}
	c := s.fedClient(s.cfg.Federation.MasterOned)
	v, err := c.Call(ctx, "one.sql.exec", append([]any{s.auth.session()}, p...)...)
	if err == nil {
		// Call returns the whole answer, [ok, value, code]: relay it as is
		// (a success or the master's failure), unless it is malformed.
		if _, rerr := xmlrpc.Result(v); rerr != nil && !errors.Is(rerr, xmlrpc.ErrONE) {
			err = rerr
		}
	}
	if err != nil {
		return nil, &rawAnswer{forwardFailure("one.sql.exec", "the master zone "+s.cfg.Federation.MasterOned, err)}
	}
	return nil, &rawAnswer{v.([]any)}
}

// maxFedRecord bounds a federated transaction (SQL and parameters), so
// its record fits one.zone.fedreplicate's body (base64) on every slave.
const maxFedRecord = (xmlrpc.DefaultMaxBody - 64<<10) / 4 * 3

// recordSize is the bytes of a transaction's SQL and parameters, about
// what its record holds before compression.
func recordSize(stmts []sqlfsm.Statement) int {
	n := 0
	for _, st := range stmts {
		n += len(st.SQL) + 16
		for _, p := range st.Params {
			switch v := p.(type) {
			case string:
				n += len(v) + 8
			case []byte:
				n += len(v) + 8
			default:
				n += 16
			}
		}
	}
	return n
}

// fedClient is an XML-RPC client for another zone's ENDPOINT. With zone
// TLS an https endpoint must present a certificate of the zone CA (every
// zone of a federation shares it: the .one folder is copied, as in
// OpenNebula's procedure), and this server offers its own.
func (s *Server) fedClient(endpoint string) *xmlrpc.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second, ResponseHeaderTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext}
	if s.creds != nil {
		creds := s.creds
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: creds.Pool(),
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return creds.Certificate(), nil }}
	}
	timeout := max(s.cfg.XMLRPCTimeout(), 10*time.Second)
	return &xmlrpc.Client{URL: endpoint, HTTP: &http.Client{Transport: tr, Timeout: timeout}, MaxBody: xmlrpc.DefaultMaxBody}
}

// one.zone.fedreplicate(session, index, prev_index, record, tables):
// the master zone's leader hands this slave zone federation record index
// (base64 of sqlfsm.EncodeRecord), to apply after prev_index, and its
// FEDERATED_TABLES. Leader only (followers forward). Answers index once
// applied by this zone; on a gap OpenNebula's REPLICATION failure "Zone log
// is outdated last log index is N" with N as a fourth item. Refused on a
// master or a standalone zone, and when the table lists differ (naming the
// tables).
func (s *Server) fedReplicate(ctx context.Context, p []any) (any, error) {
	if s.fedMode() != federation.Slave {
		return nil, oneErr(xmlrpc.ReplicationError, "Cannot replicate federate log records on federation master")
	}
	index, err := xmlrpc.ParamInt(p, 0)
	if err != nil {
		return nil, err
	}
	prev, err := xmlrpc.ParamInt(p, 1)
	if err != nil {
		return nil, err
	}
	b64, err := xmlrpc.ParamString(p, 2)
	if err != nil {
		return nil, err
	}
	list, err := xmlrpc.ParamString(p, 3)
	if err != nil {
		return nil, err
	}
	theirs, err := federation.ParseList(list)
	if err != nil {
		return nil, badParam("tables: %v", err)
	}
	if err := federation.Same(s.fedTables(), theirs); err != nil {
		return nil, oneErr(xmlrpc.ReplicationError, "%v", err)
	}
	if index < 1 || prev < 0 || prev >= index {
		return nil, badParam("index %d after %d: want 0 <= prev_index < index", index, prev)
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
	n, ok := v.(int64)
	if !ok || n < 1 {
		return 0, fmt.Errorf("one.zone.fedsnapshot answered %v, want the index applied", v)
	}
	return uint64(n), nil
}

// one.zone.fedsnapshot(session, index, dump, tables) (OneHA's own): the
// master zone's leader replaces this slave zone's federated tables with
// dump (DEFLATE, base64: FSM.FedSnapshot) at federation index index,
// because the records this zone needs were purged from the master's log.
// Leader only. Answers index once applied; a zone that already holds index
// or more answers as fedreplicate does on a gap.
func (s *Server) fedSnapshot(ctx context.Context, p []any) (any, error) {
	if s.fedMode() != federation.Slave {
		return nil, oneErr(xmlrpc.ReplicationError, "Cannot replicate federate log records on federation master")
	}
	index, err := xmlrpc.ParamInt(p, 0)
	if err != nil {
		return nil, err
	}
	b64, err := xmlrpc.ParamString(p, 1)
	if err != nil {
		return nil, err
	}
	list, err := xmlrpc.ParamString(p, 2)
	if err != nil {
		return nil, err
	}
	theirs, err := federation.ParseList(list)
	if err != nil {
		return nil, badParam("tables: %v", err)
	}
	if err := federation.Same(s.fedTables(), theirs); err != nil {
		return nil, oneErr(xmlrpc.ReplicationError, "%v", err)
	}
	if index < 1 {
		return nil, badParam("index %d: want >= 1", index)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, badParam("dump: %v", err)
	}
	dump, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(raw)), maxFedDump+1))
	if err != nil || len(dump) > maxFedDump {
		return nil, badParam("dump: not DEFLATE data of at most %d bytes (%v)", maxFedDump, err)
	}
	s.log.Info("federation: replacing the federated tables with the master's snapshot", "index", index, "bytes", len(dump))
	res, err := s.sql.ApplySnapshot(ctx, uint64(index), string(dump), s.fedTables().List())
	if ans := fedAnswer("one.zone.fedsnapshot", index, err); ans != nil {
		return nil, ans
	}
	if err != nil {
		return nil, err
	}
	return int64(res.FedIndex), nil
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
	const marker = "last log index is "
	i := strings.LastIndex(msg, marker)
	if i < 0 {
		return 0, false
	}
	var n uint64
	if _, err := fmt.Sscan(msg[i+len(marker):], &n); err != nil {
		return 0, false
	}
	return n, true
}

// fedLoop runs the master zone's stream while this server is its ready
// leader: the replicator starts with each term and stops when leadership
// ends.
func (s *Server) fedLoop(ctx context.Context) {
	ch, cancel := s.node.Subscribe()
	defer cancel()
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
	check()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ch:
			if !ok {
				return
			}
			check()
		}
	}
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

// fedLogIndex is FEDLOG_INDEX: this server's last federation index, -1 on
// a standalone zone (OpenNebula's value there).
func (s *Server) fedLogIndex(ctx context.Context) int64 {
	if s.fedMode() == federation.Standalone || s.fsm == nil {
		return -1
	}
	last, err := s.fsm.FedLast(ctx)
	if err != nil {
		return -1
	}
	return int64(last)
}
