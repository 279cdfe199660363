package oned_test

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/raftlog"
)

// recordingLayer is an attackLayer that remembers the connections it dials,
// so a test can watch a connection raft's transport keeps in its pool.
type recordingLayer struct {
	attackLayer
	mu    sync.Mutex
	conns []net.Conn
}

func (l *recordingLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	c, err := l.attackLayer.Dial(addr, timeout)
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *recordingLayer) last() net.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) == 0 {
		return nil
	}
	return l.conns[len(l.conns)-1]
}

// staleAppend sends an AppendEntries with term 0: every server answers it
// (refusing the stale term) without any effect, which proves the Raft
// connection was accepted.
func staleAppend(tr *raft.NetworkTransport, o *harness.Oned) error {
	req := &raft.AppendEntriesRequest{RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, Addr: []byte(tr.LocalAddr())}}
	var resp raft.AppendEntriesResponse
	return tr.AppendEntries(raft.ServerID("x"), raftAddr(o), req, &resp)
}

// TestRemovedServerLosesOpenRaftConnections: a client holding a valid
// zone-CA certificate of server N opens Raft connections to the other
// servers while N is in the zone; after `onezone server-del N` every server
// closes the connection it had accepted (within a bounded wait: the
// re-authorization round), counts it in /metrics, and refuses new ones.
func TestRemovedServerLosesOpenRaftConnections(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	var victim *harness.Oned
	var rest []*harness.Oned
	for _, o := range z.Servers {
		if o != leader && victim == nil {
			victim = o
		} else {
			rest = append(rest, o)
		}
	}
	victim.Kill() // its certificate is now only in the attacker's hands
	creds := credsFor(t, zoneCA(t, z), victim.ID)
	cfg := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"oneha-raft"},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return creds.Certificate(), nil }}

	type held struct {
		o     *harness.Oned
		layer *recordingLayer
		tr    *raft.NetworkTransport
	}
	var open []held
	for _, o := range rest {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		layer := &recordingLayer{attackLayer: attackLayer{Listener: ln, tlsCfg: cfg}}
		tr := raft.NewNetworkTransportWithLogger(layer, 1, 5*time.Second, raftlog.NewHCLogger(slog.New(slog.DiscardHandler), "removed"))
		t.Cleanup(func() { tr.Close() })
		if err := staleAppend(tr, o); err != nil {
			t.Fatalf("control: server %d refused server %d's Raft connection while it is in the zone: %v", o.ID, victim.ID, err)
		}
		open = append(open, held{o, layer, tr})
	}

	call(t, leader, "one.zone.delserver", 0, victim.ID)

	for _, h := range open {
		c := h.layer.last()
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a few re-authorization rounds
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		if err == nil || errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("server %d kept the removed server's open Raft connection: read err = %v", h.o.ID, err)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if metric(t, h.o, `oneha_peer_connections_closed_total{reason="unauthorized"}`) >= 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("server %d closed the connection (read err %v) but /metrics counts no closed unauthorized peer connection; log:\n%s",
					h.o.ID, err, h.o.LogTail(40))
				break
			}
		}
		// The pooled connection is dead: the transport drops it, then
		// re-dials, and the new handshake is refused.
		_ = staleAppend(h.tr, h.o)
		if err := staleAppend(h.tr, h.o); err == nil {
			t.Errorf("server %d accepted a new Raft connection from the removed server", h.o.ID)
		}
	}
	// Only the removed server's connections were closed, each logged with
	// its identity; the zone's own peer connections were left alone.
	want := fmt.Sprintf("zone 0 server %d", victim.ID)
	for _, o := range rest {
		var logged int
		for _, line := range strings.Split(o.LogTail(100000), "\n") {
			if !strings.Contains(line, "no longer authorized") {
				continue
			}
			logged++
			if !strings.Contains(line, want) {
				t.Errorf("server %d closed a connection of a zone member: %s", o.ID, line)
			}
		}
		if logged == 0 {
			t.Errorf("server %d logged no closed connection of %s", o.ID, want)
		}
	}
	call(t, leader, "one.sql.exec", []any{"CREATE TABLE after_removal (id INT)"})
}
