package oned

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestGuardWindowDoublesUpToCap: each consecutive failure doubles the
// window from guardBase, never beyond guardCap; a success clears it.
func TestGuardWindowDoublesUpToCap(t *testing.T) {
	g := newAuthGuard(slog.New(slog.DiscardHandler))
	const src = "192.0.2.7:4000"
	for n := 1; n <= 12; n++ {
		before := time.Now()
		g.failed(src, "m")
		v, _ := g.sources.Get(sourceKey(src))
		got := v.(*failState).until.Sub(before)
		want := min(guardBase<<(n-1), guardCap)
		if got < want || got > want+time.Second {
			t.Fatalf("failure %d: window %v, want %v", n, got, want)
		}
		if err := g.admit("192.0.2.7:5000"); err == nil || !strings.Contains(err.Error(), "too many failed logins from 192.0.2.7; retry in") {
			t.Fatalf("failure %d: admit from another port of the address = %v, want refused", n, err)
		}
	}
	g.succeeded(src)
	if err := g.admit(src); err != nil {
		t.Fatalf("after a success: %v", err)
	}
	if err := g.admit("192.0.2.8:1"); err != nil {
		t.Fatalf("another address: %v", err)
	}
}

// TestGuardMemoryIsBounded: however many addresses fail, at most
// guardSources are tracked; IPv6 addresses of one /64 are one source.
func TestGuardMemoryIsBounded(t *testing.T) {
	g := newAuthGuard(slog.New(slog.DiscardHandler))
	for i := 0; i < guardSources+5000; i++ {
		g.failed(fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255), "m")
	}
	if n := g.sources.Len(); n != guardSources {
		t.Fatalf("%d sources tracked, want %d", n, guardSources)
	}
	g.failed("[2001:db8:1:2::1]:1", "m")
	if err := g.admit("[2001:db8:1:2:ffff::9]:2"); err == nil {
		t.Fatal("another address of the same /64 is not slowed")
	}
	if err := g.admit("[2001:db8:1:3::1]:2"); err != nil {
		t.Fatalf("another /64: %v", err)
	}
}

// TestGuardLogIsRateLimited: a flood of failures from many addresses
// writes at most guardLogsPerSecond lines a second, and the next line
// counts the ones left out.
func TestGuardLogIsRateLimited(t *testing.T) {
	var buf bytes.Buffer
	g := newAuthGuard(slog.New(slog.NewTextHandler(&buf, nil)))
	start := time.Now()
	for i := 0; i < 2000; i++ {
		g.failed(fmt.Sprintf("10.0.%d.%d:1", i>>8, i&255), "one.system.version")
	}
	secs := int(time.Since(start)/time.Second) + 2 // the loop may straddle second boundaries
	lines := strings.Count(buf.String(), "failed login")
	if lines == 0 || lines > secs*guardLogsPerSecond {
		t.Fatalf("%d log lines for 2000 failures in %d s", lines, secs)
	}
	if !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), "method=one.system.version") {
		t.Fatalf("log: %.300s", buf.String())
	}
}

// TestWarnIfReadable: a secrets file readable by everyone is warned about
// with its name and mode; one readable by its owner only is not.
func TestWarnIfReadable(t *testing.T) {
	dir := t.TempDir()
	for mode, warn := range map[os.FileMode]bool{0o600: false, 0o644: true, 0o604: true} {
		path := filepath.Join(dir, fmt.Sprintf("auth-%o", mode))
		if err := os.WriteFile(path, []byte("a:b\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, mode)
		var buf bytes.Buffer
		WarnIfReadable(slog.New(slog.NewTextHandler(&buf, nil)), "ONE_AUTH", path)
		got := strings.Contains(buf.String(), "level=WARN") && strings.Contains(buf.String(), path) &&
			strings.Contains(buf.String(), fmt.Sprintf("%#o", mode))
		if got != warn {
			t.Errorf("mode %o: log %q, want warning %v", mode, buf.String(), warn)
		}
	}
}

// TestGuardChecksOneAttemptAtATimeAfterFailures: once an address has
// failed, concurrent attempts after its window are checked one at a time.
func TestGuardChecksOneAttemptAtATimeAfterFailures(t *testing.T) {
	g := newAuthGuard(slog.New(slog.DiscardHandler))
	const src = "192.0.2.9:1"
	if err := g.admit(src); err != nil {
		t.Fatal(err)
	}
	g.failed(src, "m")
	for g.admit(src) != nil { // poll until the 100 ms window ends
		time.Sleep(10 * time.Millisecond)
	}
	if err := g.admit(src); err == nil {
		t.Fatal("a second attempt was admitted while the first is being checked")
	}
	g.succeeded(src)
	for i := 0; i < 3; i++ {
		if err := g.admit(src); err != nil {
			t.Fatalf("after a success, attempt %d: %v", i, err)
		}
	}
}
