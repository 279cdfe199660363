package oned_test

import (
	"bytes"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
)

// sniffer is a TCP proxy that records the XML-RPC requests passing through
// it (connections starting with "POST"); Raft traffic is relayed unseen.
type sniffer struct {
	ln  net.Listener
	mu  sync.Mutex
	buf bytes.Buffer
}

func startSniffer(t *testing.T, listen, target string) *sniffer {
	t.Helper()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatal(err)
	}
	s := &sniffer{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.relay(c, target)
		}
	}()
	return s
}

func (s *sniffer) relay(c net.Conn, target string) {
	defer c.Close()
	u, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer u.Close()
	go func() { io.Copy(c, u); c.Close() }()
	first := make([]byte, 4)
	n, err := io.ReadFull(c, first)
	if _, werr := u.Write(first[:n]); err != nil || werr != nil {
		return
	}
	var w io.Writer = u
	if string(first) == "POST" {
		w = io.MultiWriter(u, s)
		s.Write(first)
	}
	io.Copy(w, c)
}

func (s *sniffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buf.Len() < 16<<20 {
		s.buf.Write(p)
	}
	return len(p), nil
}

var resyncCall = regexp.MustCompile(`one\.zone\.resync</methodName>\s*<params>\s*<param>\s*<value>\s*<string>[^<]*</string>\s*</value>\s*</param>\s*<param>\s*<value>\s*<string>([0-9a-f]{32})</string>\s*</value>\s*</param>\s*<param>\s*<value>\s*<i[48]>(\d+)</i[48]>`)

// resync returns the token and index of the one.zone.resync call seen.
func (s *sniffer) resync() (token string, index int64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := resyncCall.FindSubmatch(s.buf.Bytes())
	if m == nil {
		return "", 0, false
	}
	index, _ = strconv.ParseInt(string(m[2]), 10, 64)
	return string(m[1]), index, true
}

// TestResetTokenReplayIsRefused: a token captured on the wire while the
// leader resets a server (plain HTTP) is worth nothing afterwards: sent
// again to the same server once it restarted empty, it is refused and the
// server keeps running with the data it received. Neither server logs it.
//
// Under the zone's mutual TLS nobody can sniff the token (and a caller
// without the leader's certificate is refused before any token check), so
// the zone runs with INSECURE_RAFT here: the one mode where the wire shows
// the token, and where single use is all that stands between a sniffer and
// a wipe.
func TestResetTokenReplayIsRefused(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3, Extra: "INSECURE_RAFT: true\n"})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 10)
	target := followers(z, leader)[0]

	// Move the target behind a sniffing proxy on its zone ENDPOINT.
	target.Stop()
	inner, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	outer := target.Port
	target.Port = inner
	target.WriteConfig(target.ID)
	sn := startSniffer(t, "127.0.0.1:"+strconv.Itoa(outer), "127.0.0.1:"+strconv.Itoa(inner))
	target.Start()
	waitCount(t, target, 10, 20*time.Second, "the server behind the proxy did not catch up")
	z.WaitVoters(3, 60*time.Second)

	call(t, leader, "one.zone.resetserver", 0, target.ID)
	if code := target.WaitExit(20 * time.Second); code != 75 {
		t.Fatalf("reset server exited with %d, want 75", code)
	}
	token, index, ok := sn.resync()
	if !ok {
		t.Fatal("the leader's one.zone.resync call was not seen on the wire")
	}
	target.Start()
	z.WaitVoters(3, 60*time.Second)
	waitCount(t, target, 10, 20*time.Second, "reset server did not receive every row again")

	e := callFails(t, target, "one.zone.resync", token, index)
	if !strings.Contains(e.Message, "resync refused") {
		t.Fatalf("replayed token: %v, want refused", e)
	}
	t.Logf("replay: %s", e.Message)
	call(t, leader, "one.sql.exec", []any{[]any{"INSERT INTO vm (id, name) VALUES (?, 'x')", int64(10)}})
	waitCount(t, target, 11, 20*time.Second, "server stopped replicating after a replayed token")
	if !target.Running() {
		t.Fatal("the replayed token stopped the server")
	}
	for _, o := range z.Servers {
		if strings.Contains(o.LogTail(1_000_000), token) {
			t.Errorf("server %d logged the reset token", o.ID)
		}
	}
}
