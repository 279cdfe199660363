package mux

import (
	"net"
	"testing"
	"time"
)

// dialFrom dials addr from loopback source address src (127.0.0.0/8 is
// all local on Linux), so tests can play several sources.
func dialFrom(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// plainHTTP dials from src, writes an HTTP method's first letter and
// returns the client end.
func plainHTTP(t *testing.T, src, addr string) net.Conn {
	t.Helper()
	c := dialFrom(t, src, addr)
	if _, err := c.Write([]byte("G")); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestOneSourceCannotTakeAllPendingSlots(t *testing.T) {
	m := newTestMux(t, Config{MaxPending: 5, MaxPendingPerSource: 3, PeekTimeout: time.Minute, AllowPlainHTTP: true})
	for i := 0; i < 3; i++ {
		dialFrom(t, "127.0.0.1", m.Addr().String()) // idle: holds a pending slot
	}
	waitStat(t, m, "3 pending", func(s Stats) bool { return s.Pending == 3 })
	extra := dialFrom(t, "127.0.0.1", m.Addr().String())
	waitClosed(t, extra)
	waitStat(t, m, "per-source refusal counted", func(s Stats) bool { return s.RefusedPendingSource == 1 })
	if st := m.Stats(); st.Pending != 3 || st.RefusedPending != 0 {
		t.Fatalf("stats %+v: want 3 pending and no global refusal", st)
	}
	// Another source still gets through and is dispatched.
	plainHTTP(t, "127.0.0.2", m.Addr().String())
	if _, s := acceptRead(t, m.HTTPListener(), 1); s != "G" {
		t.Fatalf("read %q", s)
	}
}

func TestPendingSourceCapIPv6CountsBy64(t *testing.T) {
	a := sourceKey(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2::1")})
	b := sourceKey(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:ffff::9")})
	c := sourceKey(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:3::1")})
	if a != b || a == c {
		t.Fatalf("keys %v %v %v: want one per /64", a, b, c)
	}
	v4 := sourceKey(&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7")})
	if v4.String() != "192.0.2.7" {
		t.Fatalf("mapped IPv4 key %v", v4)
	}
}

func TestHTTPConnCapsCloseExcessAndFreeOnClose(t *testing.T) {
	m := newTestMux(t, Config{MaxHTTPConns: 3, MaxHTTPConnsPerSource: 2, AllowPlainHTTP: true})
	addr := m.Addr().String()
	var served []net.Conn
	for _, src := range []string{"127.0.0.1", "127.0.0.1", "127.0.0.2"} {
		plainHTTP(t, src, addr)
		got, _ := acceptRead(t, m.HTTPListener(), 1)
		served = append(served, got)
	}
	waitStat(t, m, "3 http conns", func(s Stats) bool { return s.HTTPConns == 3 })
	// Per source: a third connection from 127.0.0.1 is closed.
	waitClosed(t, plainHTTP(t, "127.0.0.1", addr))
	waitStat(t, m, "per-source refusal", func(s Stats) bool { return s.RefusedHTTPConnsSource == 1 })
	// Global: a new source is closed while 3 are open.
	waitClosed(t, plainHTTP(t, "127.0.0.3", addr))
	waitStat(t, m, "global refusal", func(s Stats) bool { return s.RefusedHTTPConns == 1 })
	// Raft is not counted against the HTTP caps.
	m2raft := dialFrom(t, "127.0.0.1", addr)
	if _, err := m2raft.Write([]byte{RaftByte}); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, m2raft) // plain Raft is refused here, but for its own reason
	if st := m.Stats(); st.RefusedPlainRaft != 1 || st.RefusedHTTPConns != 1 {
		t.Fatalf("stats %+v", st)
	}
	// Closing a served connection (as net/http does) frees its slots.
	served[0].Close()
	served[0].Close() // counted once
	waitStat(t, m, "slot freed", func(s Stats) bool { return s.HTTPConns == 2 })
	plainHTTP(t, "127.0.0.3", addr)
	if _, s := acceptRead(t, m.HTTPListener(), 1); s != "G" {
		t.Fatalf("read %q", s)
	}
	waitStat(t, m, "3 http conns again", func(s Stats) bool { return s.HTTPConns == 3 })
}
