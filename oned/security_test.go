package oned_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/raftlog"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/xmlrpc"
	"github.com/oneha/oneha/zoneca"
)

// attackLayer is a raft.StreamLayer of a client without zone credentials:
// plaintext with the mux byte 0x01 (tlsCfg nil), or TLS offering ALPN
// oneha-raft with whatever certificate tlsCfg carries.
type attackLayer struct {
	net.Listener
	tlsCfg *tls.Config
}

func (l *attackLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", string(addr), timeout)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(timeout))
	if l.tlsCfg == nil {
		if _, err := c.Write([]byte{0x01}); err != nil {
			c.Close()
			return nil, err
		}
		_ = c.SetDeadline(time.Time{})
		return c, nil
	}
	tc := tls.Client(c, l.tlsCfg)
	if err := tc.Handshake(); err != nil {
		c.Close()
		return nil, err
	}
	_ = tc.SetDeadline(time.Time{})
	return tc, nil
}

// attackers are the credential-less Raft clients: plaintext, and TLS
// without a client certificate.
func attackers(t *testing.T) map[string]*raft.NetworkTransport {
	out := map[string]*raft.NetworkTransport{}
	for name, cfg := range map[string]*tls.Config{
		"plaintext 0x01":            nil,
		"TLS without a certificate": {InsecureSkipVerify: true, NextProtos: []string{zoneca.ALPNRaft}},
	} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		tr := raft.NewNetworkTransportWithLogger(&attackLayer{Listener: ln, tlsCfg: cfg}, 1, 2*time.Second,
			raftlog.NewHCLogger(slog.New(slog.DiscardHandler), "attacker"))
		t.Cleanup(func() { tr.Close() })
		out[name] = tr
	}
	return out
}

// raftStatus is one server's RAFT document.
type raftStatus struct {
	State    int    `xml:"STATE"`
	Term     uint64 `xml:"TERM"`
	LogIndex uint64 `xml:"LOG_INDEX"`
	LogTerm  uint64 `xml:"LOG_TERM"`
}

func statusOf(t *testing.T, o *harness.Oned) raftStatus {
	t.Helper()
	var st raftStatus
	if err := xml.Unmarshal([]byte(call(t, o, "one.zone.raftstatus").(string)), &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func raftAddr(o *harness.Oned) raft.ServerAddress {
	return raft.ServerAddress(fmt.Sprintf("127.0.0.1:%d", o.Port))
}

// countWhere counts o's own rows of vm matching cond.
func countWhere(t *testing.T, o *harness.Oned, cond string) int64 {
	t.Helper()
	v := call(t, o, "one.sql.query", "SELECT COUNT(*) FROM vm WHERE "+cond, []any{}, "stale")
	return v.(map[string]any)["ROWS"].([]any)[0].([]any)[0].(int64)
}

// TestRaftWithoutCertCannotAppend: a client speaking hashicorp/raft's
// protocol without a zone certificate sends AppendEntries with a higher term
// and an INSERT that matches every server's log; no server applies it and no
// term moves to the attacker's.
func TestRaftWithoutCertCannotAppend(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 1)
	for _, o := range z.Servers {
		waitCount(t, o, 1, 20*time.Second, "seed row replicated")
	}
	evil, err := sqlfsm.Encode(&sqlfsm.Entry{Context: sqlfsm.Context{Time: time.Now().UTC()},
		Statements: []sqlfsm.Statement{{SQL: "INSERT INTO vm (id, name) VALUES (?, ?)", Params: []any{int64(666), "evil"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var maxTerm uint64
	for _, o := range z.Servers {
		maxTerm = max(maxTerm, statusOf(t, o).Term)
	}
	attackTerm := maxTerm + 1000
	for name, tr := range attackers(t) {
		for _, o := range z.Servers {
			st := statusOf(t, o)
			req := &raft.AppendEntriesRequest{
				RPCHeader:    raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("77"), Addr: []byte(tr.LocalAddr())},
				Term:         attackTerm,
				PrevLogEntry: st.LogIndex, PrevLogTerm: st.LogTerm,
				Entries:           []*raft.Log{{Index: st.LogIndex + 1, Term: attackTerm, Type: raft.LogCommand, Data: evil}},
				LeaderCommitIndex: st.LogIndex + 1,
			}
			var resp raft.AppendEntriesResponse
			err := tr.AppendEntries(raft.ServerID(fmt.Sprint(o.ID)), raftAddr(o), req, &resp)
			if err == nil {
				t.Errorf("%s: server %d answered AppendEntries (success=%v)", name, o.ID, resp.Success)
			}
		}
	}
	for _, o := range z.Servers {
		if n := metric(t, o, `oneha_port_refused_connections_total{reason="plain_raft"}`); n < 1 {
			t.Errorf("server %d counts %v refused plaintext Raft connections in /metrics", o.ID, n)
		}
	}
	// A legitimate write applied everywhere: had the INSERT been applied,
	// it would be visible by now.
	leader = z.Leader(20 * time.Second)
	call(t, leader, "one.sql.exec", []any{[]any{"INSERT INTO vm (id, name) VALUES (?, 'x')", int64(1)}})
	for _, o := range z.Servers {
		waitCount(t, o, 2, 20*time.Second, "the legitimate write replicated")
		if n := countWhere(t, o, "id = 666"); n != 0 {
			t.Errorf("server %d applied the injected INSERT", o.ID)
		}
		if st := statusOf(t, o); st.Term >= attackTerm {
			t.Errorf("server %d moved to the attacker's term %d", o.ID, st.Term)
		}
	}
}

// TestRaftWithoutCertCannotWinVote: RequestVote with a much higher term and
// LeadershipTransfer set (which skips pre-vote and leader stickiness) is
// refused at the connection; the leader keeps leading and writes succeed.
func TestRaftWithoutCertCannotWinVote(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 1)
	before := statusOf(t, leader)
	for name, tr := range attackers(t) {
		for _, o := range z.Servers {
			req := &raft.RequestVoteRequest{
				RPCHeader:          raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("77"), Addr: []byte(tr.LocalAddr())},
				Term:               before.Term + 1000,
				LastLogIndex:       before.LogIndex + 1000,
				LastLogTerm:        before.Term + 1000,
				LeadershipTransfer: true,
			}
			var resp raft.RequestVoteResponse
			if err := tr.RequestVote(raft.ServerID(fmt.Sprint(o.ID)), raftAddr(o), req, &resp); err == nil {
				t.Errorf("%s: server %d answered RequestVote (granted=%v)", name, o.ID, resp.Granted)
			}
		}
	}
	if st := statusOf(t, leader); st.State != 3 || st.Term != before.Term {
		t.Fatalf("leader %d: state %d term %d, want leader in term %d", leader.ID, st.State, st.Term, before.Term)
	}
	call(t, leader, "one.sql.exec", []any{[]any{"INSERT INTO vm (id, name) VALUES (?, 'x')", int64(1)}})
	for _, o := range z.Servers {
		waitCount(t, o, 2, 20*time.Second, "write after the vote attempt")
	}
}

// TestForwardingGoesOnlyToZoneLeader: a fake heartbeat naming an attacker
// as leader (an ID the zone table does not list, so the old code forwarded
// to the address it claimed) gets nowhere: a follower forwards a client's
// one.sql.exec, with its session, only to the leader the zone table names,
// over the verified channel.
func TestForwardingGoesOnlyToZoneLeader(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 0)
	var stolen atomic.Int64
	trap := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		io.Copy(io.Discard, r.Body)
	})}
	trapLn, err := net.Listen("tcp", "127.0.0.1:0") // where the fake leader claims to be
	if err != nil {
		t.Fatal(err)
	}
	go trap.Serve(trapLn)
	defer trap.Close()
	trs := attackers(t)
	var follower *harness.Oned
	for _, o := range z.Servers {
		if o != leader {
			follower = o
		}
	}
	for i := 0; i < 20; i++ {
		for _, tr := range trs {
			st := statusOf(t, follower)
			req := &raft.AppendEntriesRequest{
				RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("77"), Addr: []byte(trapLn.Addr().String())},
				Term:      st.Term + 1000, PrevLogEntry: st.LogIndex, PrevLogTerm: st.LogTerm, LeaderCommitIndex: st.LogIndex,
			}
			var resp raft.AppendEntriesResponse
			_ = tr.AppendEntries(raft.ServerID(fmt.Sprint(follower.ID)), raftAddr(follower), req, &resp)
		}
		call(t, follower, "one.sql.exec", []any{[]any{"INSERT INTO vm (id, name) VALUES (?, 'x')", int64(i)}})
	}
	if n := stolen.Load(); n > 0 {
		t.Fatalf("the fake leader received %d forwarded calls", n)
	}
	for _, o := range z.Servers {
		waitCount(t, o, 20, 20*time.Second, "every forwarded write reached the real leader")
	}
}

// zoneRPC calls one.zone.raftstatus on o over ALPN oneha-rpc presenting
// creds' leaf, accepting whatever zone-CA certificate o presents.
func zoneRPC(t *testing.T, z *harness.ProcZone, o *harness.Oned, creds *zoneca.Creds) (string, error) {
	t.Helper()
	allow := zoneca.AuthorizerFunc(func(context.Context, *x509.Certificate, string) error { return nil })
	tr := &http.Transport{DialTLSContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
		return zoneca.DialPeer(ctx, creds, allow, zoneca.ALPNPeer, addr)
	}}
	defer tr.CloseIdleConnections()
	c := &xmlrpc.Client{URL: strings.Replace(o.Endpoint, "http://", "https://", 1), HTTP: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
	v, err := c.CallONE(context.Background(), "one.zone.raftstatus", z.Session)
	s, _ := v.(string)
	return s, err
}

// zoneCA loads the zone CA the harness's shared ONE_AUTH folder holds.
func zoneCA(t *testing.T, z *harness.ProcZone) *zoneca.CA {
	t.Helper()
	ca, _, err := zoneca.EnsureCA(filepath.Join(z.Dir, "zone-ca.crt"), filepath.Join(z.Dir, "zone-ca.key"), false)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func credsFor(t *testing.T, ca *zoneca.CA, serverID int) *zoneca.Creds {
	t.Helper()
	c, err := zoneca.NewAutoCreds(ca, zoneca.Identity{ZoneID: 0, ServerID: serverID}, func() []string { return []string{"127.0.0.1"} }, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// refusedEverywhere asserts that creds get neither a server-to-server call
// nor a Raft RPC through on any server, while good creds do (so the check
// can fail).
func refusedEverywhere(t *testing.T, z *harness.ProcZone, bad, good *zoneca.Creds) {
	t.Helper()
	for _, o := range z.Servers {
		if _, err := zoneRPC(t, z, o, good); err != nil {
			t.Fatalf("control: a zone server's certificate was refused by server %d: %v", o.ID, err)
		}
		refusedBefore := metric(t, o, `oneha_port_refused_connections_total{reason="tls"}`)
		if doc, err := zoneRPC(t, z, o, bad); err == nil {
			t.Errorf("server %d answered a server-to-server call: %s", o.ID, doc)
		}
		cfg := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{zoneca.ALPNRaft},
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return bad.Certificate(), nil }}
		layer := &attackLayer{tlsCfg: cfg}
		conn, err := layer.Dial(raftAddr(o), 5*time.Second)
		if err == nil {
			// TLS 1.3: the server may refuse the certificate after the
			// client's side of the handshake completed; it then closes.
			_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Errorf("server %d kept a Raft connection with a refused certificate open", o.ID)
			}
		}
		// The server counts a refusal when its side of the handshake ends,
		// which can be after the client saw it: wait for the count.
		deadline := time.Now().Add(10 * time.Second)
		for n := metric(t, o, `oneha_port_refused_connections_total{reason="tls"}`); n < refusedBefore+2; n = metric(t, o, `oneha_port_refused_connections_total{reason="tls"}`) {
			if time.Now().After(deadline) {
				t.Errorf("server %d: /metrics counts %v refused TLS connections, want >= %v", o.ID, n, refusedBefore+2)
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TestPeerFromAnotherCARefused: a certificate naming a zone server, but
// issued by another CA, gets no Raft connection and no server-to-server call.
func TestPeerFromAnotherCARefused(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	dir := t.TempDir()
	other, _, err := zoneca.EnsureCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	refusedEverywhere(t, z, credsFor(t, other, 1), credsFor(t, zoneCA(t, z), 1))
}

// TestPeerNotInZoneRefused: a valid zone-CA certificate for SERVER_ID 9,
// which is not in the zone table, is refused.
func TestPeerNotInZoneRefused(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	ca := zoneCA(t, z)
	refusedEverywhere(t, z, credsFor(t, ca, 9), credsFor(t, ca, 1))
}

// presentedLeaf is the certificate server o presents to a zone peer.
func presentedLeaf(t *testing.T, o *harness.Oned, creds *zoneca.Creds) *x509.Certificate {
	t.Helper()
	allow := zoneca.AuthorizerFunc(func(context.Context, *x509.Certificate, string) error { return nil })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := zoneca.DialPeer(ctx, creds, allow, zoneca.ALPNPeer, string(raftAddr(o)))
	if err != nil {
		t.Fatalf("dial server %d: %v", o.ID, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

// TestLeafRenewalKeepsZoneWorking: with LEAF_TTL_S 6 every server presents
// a new leaf before the old one expires, and the zone still commits writes
// after the first leaves' NotAfter.
func TestLeafRenewalKeepsZoneWorking(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3, Extra: "TLS: {LEAF_TTL_S: 6}\n"})
	z.FormZone()
	creds := credsFor(t, zoneCA(t, z), 0)
	first := map[int]*x509.Certificate{}
	var lastExpiry time.Time
	for _, o := range z.Servers {
		first[o.ID] = presentedLeaf(t, o, creds)
		if first[o.ID].NotAfter.After(lastExpiry) {
			lastExpiry = first[o.ID].NotAfter
		}
	}
	for _, o := range z.Servers {
		deadline := time.Now().Add(30 * time.Second)
		for presentedLeaf(t, o, creds).SerialNumber.Cmp(first[o.ID].SerialNumber) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("server %d still presents its first leaf", o.ID)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for time.Now().Before(lastExpiry.Add(time.Second)) { // wait for a condition: the first leaves expired
		time.Sleep(200 * time.Millisecond)
	}
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 3)
	for _, o := range z.Servers {
		waitCount(t, o, 3, 20*time.Second, "writes after the first leaves expired")
	}
}

// TestInsecureRaftIsExplicitAndWarned: INSECURE_RAFT: true runs the zone on
// plaintext Raft, and says so at start, in /status and in onezone show;
// without it /status carries no such flag.
func TestInsecureRaftIsExplicitAndWarned(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 2, Extra: "INSECURE_RAFT: true\n"})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 1)
	for _, o := range z.Servers {
		waitCount(t, o, 1, 20*time.Second, "replicated over plaintext Raft")
		if !strings.Contains(o.LogTail(1000), "INSECURE_RAFT is set") {
			t.Errorf("server %d did not warn about INSECURE_RAFT at start", o.ID)
		}
		var st map[string]any
		getJSON(t, strings.TrimSuffix(o.Endpoint, "/RPC2")+"/status", &st)
		if st["INSECURE_RAFT"] != true {
			t.Errorf("server %d /status INSECURE_RAFT = %v, want true", o.ID, st["INSECURE_RAFT"])
		}
	}
	cmd := exec.Command(filepath.Join(z.Bin, "onezone"), "show", "0")
	cmd.Env = append(os.Environ(), "ONE_AUTH="+z.Auth, "ONE_XMLRPC="+leader.Endpoint)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("onezone show: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "WARNING: INSECURE_RAFT") {
		t.Errorf("onezone show has no INSECURE_RAFT warning:\n%s", out)
	}

	secure := harness.NewProcZone(t, harness.ZoneOptions{N: 1})
	secure.FormFirst()
	var st map[string]any
	getJSON(t, strings.TrimSuffix(secure.Servers[0].Endpoint, "/RPC2")+"/status", &st)
	if _, ok := st["INSECURE_RAFT"]; ok {
		t.Errorf("a default server reports INSECURE_RAFT in /status")
	}
}

func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// metric reads one sample of o's /metrics ("name{labels}").
func metric(t *testing.T, o *harness.Oned, sample string) float64 {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(strings.TrimSuffix(o.Endpoint, "/RPC2") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	t.Fatalf("server %d: no %s in /metrics", o.ID, sample)
	return 0
}

// TestJoinerWithoutZoneCARefusesToStart: a server that is not the zone's
// first (SERVER_ID set, nothing to bootstrap) and finds no zone CA beside
// ONE_AUTH stops with a message telling the operator to copy the folder,
// and creates no CA of its own; `oned zone-ca` creates one, after which it
// starts.
func TestJoinerWithoutZoneCARefusesToStart(t *testing.T) {
	bin := harness.Binaries(t)
	dir := t.TempDir()
	auth := filepath.Join(dir, "one", "one_auth")
	os.MkdirAll(filepath.Dir(auth), 0o700)
	os.WriteFile(auth, []byte("oneadmin:x\n"), 0o600)
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "oned.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("LISTEN_ADDRESS: 127.0.0.1\nPORT: %d\nDATA_DIR: %s\nONE_AUTH: %s\nFEDERATION: {SERVER_ID: 1}\n",
		port, filepath.Join(dir, "data"), auth)), 0o600)
	out, err := exec.Command(filepath.Join(bin, "oned"), "--config", cfg).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "copy this folder") || !strings.Contains(string(out), "TLS.CA") {
		t.Fatalf("joiner without a zone CA: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "one", "zone-ca.key")); err == nil {
		t.Fatal("a joiner created a zone CA of its own")
	}
	if out, err := exec.Command(filepath.Join(bin, "oned"), "--config", cfg, "zone-ca").CombinedOutput(); err != nil || !strings.Contains(string(out), "created the zone CA") {
		t.Fatalf("oned zone-ca: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "one", "zone-ca.key")); err != nil {
		t.Fatalf("oned zone-ca created no key: %v", err)
	}
}
