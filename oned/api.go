package oned

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/oneha/oneha/internal/stagetime"
	"github.com/oneha/oneha/raftlog"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/xmlrpc"
	"github.com/oneha/oneha/zone"
)

// route says where a method runs.
type route uint8

const (
	local  route = iota // answered by this server (*.info, raftstatus, stale reads)
	leader              // forwarded to the leader when this server is a follower
)

// apiMethod is one XML-RPC method: its handler gets the parameters after
// the session string.
type apiMethod struct {
	name  string
	route func(params []any) route
	call  func(ctx context.Context, params []any) (any, error)
}

func always(r route) func([]any) route { return func([]any) route { return r } }

// registerAPI installs every method behind authentication and routing.
func (s *Server) registerAPI() {
	for _, m := range []apiMethod{
		{"one.system.version", always(local), func(context.Context, []any) (any, error) { return OpenNebulaVersion, nil }},
		{"one.system.config", always(local), s.systemConfig},
		{"one.zone.allocate", always(leader), s.zoneAllocate},
		{"one.zone.update", always(leader), s.zoneUpdate},
		{"one.zone.rename", always(leader), s.zoneRename},
		{"one.zone.delete", always(leader), s.zoneDelete},
		{"one.zone.info", always(local), s.zoneInfo},
		{"one.zonepool.info", always(local), s.zonePoolInfo},
		{"one.zone.raftstatus", always(local), s.raftStatus},
		{"one.zone.members", always(local), s.members},
		{"one.zone.resync", always(local), s.resync},
		{"one.zone.addserver", always(leader), s.addServer},
		{"one.zone.delserver", always(leader), s.delServer},
		{"one.zone.resetserver", always(leader), s.resetServer},
		{"one.zone.leadertransfer", always(leader), s.leaderTransfer},
		{"one.zone.history", always(local), s.history},
		{"one.zone.enable", always(leader), s.zoneEnable},
		{"one.zone.fedreplicate", always(leader), s.fedReplicate},
		{"one.zone.fedsnapshot", always(leader), s.fedSnapshot},
		{"one.zone.fedstatus", always(local), s.fedStatus},
		{"one.zone.feddump", always(local), s.fedDump},
		{"one.sql.exec", always(leader), s.sqlExec},
		{"one.sql.query", queryRoute, s.sqlQuery},
	} {
		s.rpc.Register(m.name, s.wrap(m))
	}
}

// wrap authenticates, routes and converts the handler's outcome to
// OpenNebula's [success, value|message, code] array.
func (s *Server) wrap(m apiMethod) xmlrpc.HandlerFunc {
	return func(ctx context.Context, params []any) (any, error) {
		if len(params) < 1 {
			return xmlrpc.Failure(m.name, "missing session string", xmlrpc.XMLRPCAPIError), nil
		}
		session, ok := params[0].(string)
		if !ok {
			return xmlrpc.Failure(m.name, "session must be a string", xmlrpc.XMLRPCAPIError), nil
		}
		tr := stagetime.From(ctx)
		t := tr.Now()
		if err := s.authenticate(remoteAddr(ctx), m.name, session); err != nil {
			return xmlrpc.Failure(m.name, err.Error(), xmlrpc.AuthenticationError), nil
		}
		t = tr.Since(stagetime.Auth, t)
		args := params[1:]
		if m.route(args) == leader && s.node != nil && !s.node.IsLeader() {
			defer tr.Since(stagetime.Forward, t)
			return s.forward(ctx, m.name, params)
		}
		v, err := m.call(ctx, args)
		if err != nil {
			if errors.Is(err, raftlog.ErrNotLeader) && s.node != nil {
				// Lost leadership between the check and the call: forward.
				defer tr.Since(stagetime.Forward, tr.Now())
				return s.forward(ctx, m.name, params)
			}
			if ra, ok := errors.AsType[*rawAnswer](err); ok {
				return ra.v, nil
			}
			msg, code := describe(err)
			return xmlrpc.Failure(m.name, boundAnswer(msg), code), nil
		}
		return xmlrpc.Success(v), nil
	}
}

// describe maps an error to OpenNebula's message and code.
func describe(err error) (string, int) {
	var pe *paramError
	var oe *oneError
	switch {
	case errors.As(err, &oe):
		return oe.msg, oe.code
	case errors.As(err, &pe), errors.Is(err, xmlrpc.ErrParam), errors.Is(err, sqlfsm.ErrBadParam):
		return err.Error(), xmlrpc.XMLRPCAPIError
	case errors.Is(err, sqlfsm.ErrSQL), errors.Is(err, sqlfsm.ErrUnsafe), errors.Is(err, sqlfsm.ErrNotReadOnly),
		errors.Is(err, zone.ErrBadEndpoint), errors.Is(err, zone.ErrJoinInProgress), errors.Is(err, zone.ErrBadName),
		errors.Is(err, zone.ErrDuplicate), errors.Is(err, zone.ErrSelf), errors.Is(err, zone.ErrSolo),
		errors.Is(err, zone.ErrNoQuorum), errors.Is(err, zone.ErrZoneHasServers), errors.Is(err, zone.ErrNotVoter),
		errors.Is(err, zone.ErrNotUpToDate):
		return err.Error(), xmlrpc.ActionError
	case errors.Is(err, zone.ErrResetRefused):
		return err.Error(), xmlrpc.AuthorizationError
	case errors.Is(err, zone.ErrNoSuchZone), errors.Is(err, zone.ErrNoSuchServer):
		return err.Error(), xmlrpc.NoExistsError
	case errors.Is(err, ErrZoneDisabled):
		// OpenNebula's code for a disabled zone; the message tells it
		// apart from "no leader found".
		return err.Error(), xmlrpc.InternalError
	case errors.Is(err, sqlfsm.ErrRequestMismatch):
		return err.Error(), xmlrpc.ActionError
	case errors.Is(err, sqlfsm.ErrRequestID):
		return err.Error(), xmlrpc.XMLRPCAPIError
	case errors.Is(err, raftlog.ErrUnknownOutcome):
		return xmlrpc.OutcomeUnknownPrefix + "the request was logged but no answer came (leadership changed, shutdown or timeout); it may or may not be applied: " + err.Error(), xmlrpc.OutcomeUnknownError
	case errors.Is(err, sqlfsm.ErrClosed):
		// The FSM closed under a committed entry (it applies on restart),
		// or a solo server closed before applying: not known here.
		return xmlrpc.OutcomeUnknownPrefix + err.Error(), xmlrpc.OutcomeUnknownError
	case errors.Is(err, errNotApplied):
		return xmlrpc.NotAppliedPrefix + err.Error(), xmlrpc.InternalError
	}
	return err.Error(), xmlrpc.InternalError
}

// errNotApplied marks a write given up before its entry was appended.
var errNotApplied = errors.New("not logged")

// errNoLeader is OpenNebula's answer when no leader can take a request,
// after NotAppliedPrefix (nothing was forwarded or logged).
var errNoLeader = errors.New(xmlrpc.NotAppliedPrefix + "Cannot process request, no leader found")

// forwardFailure answers a call the leader at addr did not answer. A
// request that never reached it (the connection was not established) was
// not applied; one that was sent may have been.
func forwardFailure(method, addr string, err error) []any {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return xmlrpc.Failure(method, fmt.Sprintf("%sforwarding to leader %s: %v", xmlrpc.NotAppliedPrefix, addr, err), xmlrpc.InternalError)
	}
	return xmlrpc.Failure(method, fmt.Sprintf("%sforwarding to leader %s: %v", xmlrpc.OutcomeUnknownPrefix, addr, err), xmlrpc.OutcomeUnknownError)
}

// forward relays a call to the leader's ENDPOINT in the zone table (never
// to the address Raft merely reports), over the zone's verified channel
// (peerClient: the peer must present that server's certificate), and returns
// its answer. It waits up to XMLRPC_TIMEOUT_MS for an election to produce a
// leader the zone table lists.
func (s *Server) forward(ctx context.Context, method string, params []any) (any, error) {
	deadline := time.Now().Add(s.cfg.XMLRPCTimeout())
	for {
		id, raftAddr := s.node.Leader()
		addr := ""
		if id != "" {
			addr = s.endpointAddr(ctx, id, raftAddr)
		}
		if addr != "" && addr != s.self {
			fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			v, err := s.peerClient("http://"+addr+"/RPC2", 10*time.Second).Call(fctx, method, params...)
			if err != nil {
				return forwardFailure(method, addr, err), nil
			}
			return v, nil
		}
		if s.node.IsLeader() {
			return xmlrpc.Failure(method, xmlrpc.NotAppliedPrefix+"leadership changed during the call; retry", xmlrpc.InternalError), nil
		}
		if time.Now().After(deadline) {
			return xmlrpc.Failure(method, errNoLeader.Error(), xmlrpc.InternalError), nil
		}
		select {
		case <-ctx.Done():
			return xmlrpc.Failure(method, errNoLeader.Error(), xmlrpc.InternalError), nil
		case <-time.After(25 * time.Millisecond):
		}
	}
}

// paramError names a bad parameter.
type paramError struct{ msg string }

func (e *paramError) Error() string { return e.msg }

func badParam(format string, args ...any) error { return &paramError{fmt.Sprintf(format, args...)} }

func (s *Server) zoneInfo(ctx context.Context, p []any) (any, error) {
	id, err := xmlrpc.ParamInt(p, 0)
	if err != nil {
		return nil, err
	}
	z, err := s.zone.Info(ctx, int(id))
	if err != nil {
		return nil, zoneErr(id, err)
	}
	return z.XML(), nil
}

func (s *Server) zonePoolInfo(ctx context.Context, _ []any) (any, error) {
	zs, err := s.zone.Pool(ctx)
	if err != nil {
		return nil, err
	}
	return zone.PoolXML(zs), nil
}

func (s *Server) addServer(ctx context.Context, p []any) (any, error) {
	id, err := xmlrpc.ParamInt(p, 0)
	if err != nil {
		return nil, err
	}
	tmpl, err := xmlrpc.ParamString(p, 1)
	if err != nil {
		return nil, err
	}
	if err := s.ownZone(id, "added"); err != nil {
		return nil, err
	}
	name, endpoint, err := parseServerTemplate(tmpl)
	if err != nil {
		return nil, err
	}
	if _, err := s.zone.AddServer(ctx, int(id), name, endpoint); err != nil {
		return nil, zoneErr(id, err)
	}
	return id, nil
}

func (s *Server) delServer(ctx context.Context, p []any) (any, error) {
	id, err := s.serverAction(ctx, p, "deleted", s.zone.DelServer)
	if err == nil {
		s.kickReauth() // the removed server's open connections go now, not at the next tick
	}
	return id, err
}

func (s *Server) resetServer(ctx context.Context, p []any) (any, error) {
	return s.serverAction(ctx, p, "deleted", s.zone.ResetServer)
}

// leaderTransfer hands leadership to the server (-1: the most up-to-date
// voter); OneHA's own method, for maintenance without an election timeout.
func (s *Server) leaderTransfer(ctx context.Context, p []any) (any, error) {
	return s.serverAction(ctx, p, "", func(ctx context.Context, zoneID, serverID int) error {
		return s.transferWithHandover(ctx, zoneID, serverID, zone.ReasonTransfer)
	})
}

// transferWithHandover is zone.TransferLeadership; with a built-in VIP it is
// a handover: this server keeps the VIP (forwarding what still reaches it)
// until the new leader reports holding it (at most handoverMax) plus
// handoverGrace, so clients lose no connection attempt.
// reason goes to the leadership history (zone.TransferLeadershipFor).
func (s *Server) transferWithHandover(ctx context.Context, zoneID, serverID int, reason string) error {
	disarm := func() {}
	if s.vip != nil && s.hooks != nil {
		disarm = s.hooks.HandOver(s.newLeaderHoldsVIP, handoverMax, handoverGrace, handoverTTL)
	}
	err := s.zone.TransferLeadershipFor(ctx, zoneID, serverID, reason)
	if err != nil || s.node.IsLeader() { // failed, or a no-op: no step-down to hand over
		disarm()
	}
	return err
}

// A planned transfer's handover waits at most handoverMax for the new
// leader's VIP, keeps ours handoverGrace longer for forwarded requests in
// flight, and applies to a step-down within handoverTTL of the call.
const (
	handoverMax   = 2 * time.Second
	handoverGrace = 500 * time.Millisecond
	handoverTTL   = 10 * time.Second
)

// newLeaderHoldsVIP reports whether another server leads and its /status
// says it holds the VIP.
func (s *Server) newLeaderHoldsVIP(ctx context.Context) bool {
	id, addr := s.node.Leader()
	if id == "" || id == s.node.ID() {
		return false
	}
	var st struct {
		Held bool `json:"VIP_HELD"`
	}
	ep := s.endpointAddr(ctx, id, addr)
	return ep != "" && s.getStatus(ctx, "http://"+ep, 500*time.Millisecond, &st) == nil && st.Held
}

// history (ours: one.zone.history(session, zone_id)) lists the zone's
// leadership changes, oldest first, from this server's replicated copy:
// [ {TERM, TIME (Unix ms), OLD_LEADER (-1: none recorded), NEW_LEADER,
// REASON}, … ], at most zone.HistoryKeep of them.
func (s *Server) history(ctx context.Context, p []any) (any, error) {
	id, err := xmlrpc.ParamInt(p, 0)
	if err != nil {
		return nil, err
	}
	changes, err := s.zone.History(ctx, int(id))
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(changes))
	for _, c := range changes {
		out = append(out, map[string]any{"TERM": int64(c.Term), "TIME": c.Time.UnixMilli(),
			"OLD_LEADER": int64(c.OldLeader), "NEW_LEADER": int64(c.NewLeader), "REASON": c.Reason})
	}
	return out, nil
}

// zoneEnable is OpenNebula's one.zone.enable(session, zone id, enable):
// false disables the zone (maintenance mode: one.sql.exec is refused with
// ErrZoneDisabled), true enables it. It answers the zone id, as OpenNebula
// does. Same authorization as the other zone calls (oneadmin's session).
func (s *Server) zoneEnable(ctx context.Context, p []any) (any, error) {
	id, err := xmlrpc.ParamInt(p, 0)
	if err != nil {
		return nil, err
	}
	if len(p) < 2 {
		return nil, badParam("param[1]: missing boolean enable")
	}
	enable, err := xmlrpc.ParamBool(p, 1, false)
	if err != nil {
		return nil, err
	}
	return id, zoneErr(id, s.zone.SetState(ctx, int(id), enable))
}

// serverAction reads (zone id, server id) and runs act; it answers the zone
// id, as OpenNebula does. Another zone's ID is refused with oned's ACTION
// text (verb "" skips that check: OneHA's own methods), a missing server with oned's "SERVER not found in zone" (ACTION).
func (s *Server) serverAction(ctx context.Context, p []any, verb string, act func(ctx context.Context, zoneID, serverID int) error) (any, error) {
	id, err := xmlrpc.ParamInt(p, 0)
	if err != nil {
		return nil, err
	}
	sid, err := xmlrpc.ParamInt(p, 1)
	if err != nil {
		return nil, err
	}
	if verb != "" {
		if err := s.ownZone(id, verb); err != nil {
			return nil, err
		}
	}
	return id, zoneErr(id, act(ctx, int(id), int(sid)))
}

// parseServerTemplate reads the SERVER vector of addserver's template,
// KEY=VALUE (`SERVER = [ NAME = "n", ENDPOINT = "e" ]`, onezone) or XML
// (`<TEMPLATE><SERVER><NAME>n</NAME>…`, pyone), with zone.ParseTemplate.
// Errors are oned's ACTION answers.
func parseServerTemplate(src string) (name, endpoint string, err error) {
	t, err := zone.ParseTemplate(src)
	if err != nil {
		return "", "", oneErr(xmlrpc.ActionError, "%s", parseErr(err))
	}
	servers := t.Vectors("SERVER")
	if len(servers) != 1 {
		return "", "", oneErr(xmlrpc.ActionError, "template needs exactly one SERVER = [ NAME = ..., ENDPOINT = ... ] vector, got %d: %s", len(servers), xmlrpc.Quote(src))
	}
	name, _ = servers[0].Get("NAME")
	endpoint, _ = servers[0].Get("ENDPOINT")
	if name == "" || endpoint == "" {
		return "", "", oneErr(xmlrpc.ActionError, "SERVER needs NAME and ENDPOINT: %s", xmlrpc.Quote(src))
	}
	return name, endpoint, nil
}

// endpointAddr maps a server ID to the host:port of its ENDPOINT in the zone
// table; "" when the table does not list it (never the address Raft knows
// it by: a forged heartbeat could name any address). The answer is cached
// per (leader ID, Raft address), so forwarded calls do not read the zone
// table each time; a new leader, or a reused ID at another address (IDs are
// max+1, so a deleted server's ID can come back), reads it again.
func (s *Server) endpointAddr(ctx context.Context, id, raftAddr string) string {
	s.leaderMu.Lock()
	cachedID, cachedRaft, cachedAddr := s.leaderID, s.leaderRaft, s.leaderAddr
	s.leaderMu.Unlock()
	if cachedID == id && cachedRaft == raftAddr && cachedAddr != "" {
		return cachedAddr
	}
	servers, err := listServers(ctx, s.db, s.cfg.Federation.ZoneID)
	if err != nil {
		return ""
	}
	for _, sv := range servers {
		if fmt.Sprint(sv.ID) == id {
			if a, err := zone.RaftAddress(sv.Endpoint); err == nil {
				s.leaderMu.Lock()
				s.leaderID, s.leaderRaft, s.leaderAddr = id, raftAddr, a
				s.leaderMu.Unlock()
				return a
			}
		}
	}
	return ""
}
