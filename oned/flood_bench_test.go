package oned_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
)

// BenchmarkIdleAttackerFlood opens 2,000 idle attacker connections to the
// leader's port of a real 3-server zone (1,000 send the Raft byte 0x01 and
// nothing else, 1,000 send a POST's headers promising 1000 bytes and 10 of
// them) and then measures how long a write takes to be acknowledged and
// how much the leader's resident memory grew. It reports; it does not
// assert (goal: ack < 1 s, RSS growth < 100 MB).
func BenchmarkIdleAttackerFlood(b *testing.B) {
	z := harness.NewProcZone(b, harness.ZoneOptions{N: 3})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	ctx := context.Background()
	if _, err := leader.Call(ctx, "one.sql.exec", []any{"CREATE TABLE flood (id INTEGER PRIMARY KEY)"}); err != nil {
		b.Fatal(err)
	}
	addr := strings.TrimPrefix(baseURL(leader), "http://")
	rss0 := vmRSS(b, leader.PID())

	const perKind = 1000
	conns := make([]net.Conn, 0, 2*perKind)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// The attacker is another source (127.0.0.2) than the zone's servers
	// and the client: per-source caps (32 pending, 256 HTTP) cut it
	// without locking them out.
	attacker := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	for i := 0; i < 2*perKind; i++ {
		c, err := attacker.Dial("tcp", addr)
		if err != nil {
			b.Fatalf("attacker connection %d: %v", i, err)
		}
		conns = append(conns, c)
		if i%2 == 0 {
			c.Write([]byte{0x01})
		} else {
			fmt.Fprintf(c, "POST /RPC2 HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nContent-Length: 1000\r\n\r\n<?xml vers")
		}
	}
	flooded := time.Now()
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := leader.Call(ctx, "one.sql.exec", []any{[]any{"INSERT INTO flood (id) VALUES (?)", int64(i)}}); err != nil {
			b.Fatalf("write %d under flood: %v", i, err)
		}
		total += time.Since(start)
	}
	b.StopTimer()
	rss1 := vmRSS(b, leader.PID())
	ms := float64(total.Microseconds()) / 1000 / float64(b.N)
	growth := float64(rss1-rss0) / 1024 / 1024
	b.ReportMetric(ms, "ms-to-ack")
	b.ReportMetric(growth, "MB-rss-growth")

	// How many attacker connections the leader still holds once TIMEOUT
	// (15 s) and KEEPALIVE_TIMEOUT have passed, with 10 s of slack.
	var closedHTTP, closedRaft atomic.Int64
	for i, c := range conns {
		go func() {
			io.Copy(io.Discard, c)
			if i%2 == 0 {
				closedRaft.Add(1)
			} else {
				closedHTTP.Add(1)
			}
		}()
	}
	for deadline := flooded.Add(25 * time.Second); time.Now().Before(deadline) && closedHTTP.Load()+closedRaft.Load() < int64(len(conns)); {
		time.Sleep(100 * time.Millisecond)
	}
	openHTTP, openRaft := perKind-closedHTTP.Load(), perKind-closedRaft.Load()
	b.ReportMetric(float64(openHTTP), "half-POSTs-open-after-25s")
	b.ReportMetric(float64(openRaft), "raft-byte-conns-open-after-25s")
	b.Logf("flood of %d idle connections: write acknowledged in %.1f ms (mean of %d); leader RSS %d → %d kB (+%.1f MB); "+
		"25 s after the flood %d of %d half POSTs and %d of %d raft-byte connections are still open",
		len(conns), ms, b.N, rss0/1024, rss1/1024, growth, openHTTP, perKind, openRaft, perKind)
}

// vmRSS reads VmRSS of process pid in bytes.
func vmRSS(tb testing.TB, pid int) int64 {
	tb.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb * 1024
		}
	}
	tb.Fatalf("no VmRSS for pid %d", pid)
	return 0
}
