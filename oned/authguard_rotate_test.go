package oned

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// TestRotatingSourcesCannotGuessFreely: an attacker cycling through many
// addresses, each failing once, gets one check per fresh address; once
// the server-wide failure bucket is empty, addresses that failed before
// are refused unchecked even after their own window, so their checks are
// bounded by the bucket (guardFailBurst + guardFailRate a second). A
// correct login from an address without failures is still checked at once.
func TestRotatingSourcesCannotGuessFreely(t *testing.T) {
	g := newAuthGuard(slog.New(slog.DiscardHandler))
	const n = 1000
	addr := func(i int) string { return fmt.Sprintf("10.1.%d.%d:4000", i>>8, i&255) }
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := g.admit(addr(i)); err != nil {
			t.Fatalf("fresh address %d refused: %v", i, err)
		}
		g.failed(addr(i), "one.system.version")
	}
	firstRound := time.Now()

	// Keep cycling until every address's own window (guardBase after its
	// first failure) has long ended.
	again, rounds := 0, 0
	var overall error
	for rounds < 3 || time.Since(firstRound) < 3*guardBase {
		rounds++
		for i := 0; i < n; i++ {
			err := g.admit(addr(i))
			if err == nil {
				again++
				g.failed(addr(i), "one.system.version")
				continue
			}
			var tf *errTooManyFailures
			if errors.As(err, &tf) && tf.overall {
				overall = err
			}
		}
		time.Sleep(time.Millisecond) // pacing, not synchronisation
	}
	allowed := guardFailBurst + int(guardFailRate*time.Since(start).Seconds()) + 1
	if again > allowed {
		t.Fatalf("%d addresses that failed before were checked again in %v (%d rounds), want at most %d", again, time.Since(start), rounds, allowed)
	}
	if overall == nil || !strings.Contains(overall.Error(), "too many failed logins on this server, 10.1.") {
		t.Errorf("no attempt was refused for the server-wide bucket: last refusal %v", overall)
	}

	// An address without failures is checked at once, bucket or not.
	clean := "192.0.2.200:5555"
	if err := g.admit(clean); err != nil {
		t.Fatalf("correct login from a clean address during the flood: %v", err)
	}
	g.succeeded(clean)
	if err := g.admit(clean); err != nil {
		t.Fatalf("clean address after its success: %v", err)
	}
}

// TestIPv6SlashFortyEightIsSlowedAfterSeveralNets: once guardWideAfter
// /64s of one /48 failed, every address of the /48 (a fresh /64 too) is
// refused inside the /48's window; other /48s are not, and a success from
// the /48 clears it.
func TestIPv6SlashFortyEightIsSlowedAfterSeveralNets(t *testing.T) {
	g := newAuthGuard(slog.New(slog.DiscardHandler))
	for i := 0; i < guardWideAfter; i++ {
		src := fmt.Sprintf("[2001:db8:5:%x::1]:1", i)
		if i < guardWideAfter-1 {
			if err := g.admit(fmt.Sprintf("[2001:db8:5:%x::1]:1", 0x100+i)); err != nil {
				t.Fatalf("fresh /64 after %d failing /64s of its /48: %v", i, err)
			}
		}
		g.failed(src, "m")
	}
	err := g.admit("[2001:db8:5:ffff::7]:1")
	if err == nil || !strings.Contains(err.Error(), "too many failed logins from 2001:db8:5::/48; retry in") {
		t.Fatalf("fresh /64 of a slowed /48: %v, want refused for the /48", err)
	}
	if err := g.admit("[2001:db8:6::1]:1"); err != nil {
		t.Fatalf("another /48: %v", err)
	}
	// After the /48's window one attempt is checked; its success clears it.
	var last error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if last = g.admit("[2001:db8:5:ffff::7]:1"); last == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the /48's window never ended: %v", last)
		}
	}
	g.succeeded("[2001:db8:5:ffff::7]:1")
	if err := g.admit("[2001:db8:5:eeee::1]:1"); err != nil {
		t.Fatalf("/48 after a success: %v", err)
	}
}
