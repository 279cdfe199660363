package oned

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/zone"
)

// TestUsedResyncTokensAreRemembered: a server remembers the hashes of the
// tokens it accepted (the pending marker's too), so a replayed token is
// refused even after its wipe replays the row that authorised it; the list
// is bounded and never holds a token itself.
func TestUsedResyncTokensAreRemembered(t *testing.T) {
	s := &Server{cfg: Config{DataDir: t.TempDir()}, log: slog.New(slog.DiscardHandler)}
	first := zone.ResetTokenHash("00112233445566778899aabbccddeeff")
	if s.resyncTokenUsed(first) {
		t.Fatal("a fresh data directory knows a used token")
	}
	if err := s.recordResyncToken(first); err != nil {
		t.Fatal(err)
	}
	if !s.resyncTokenUsed(first) {
		t.Fatal("recorded token not seen as used")
	}
	for i := range 2 * usedResyncTokens {
		if err := s.recordResyncToken(zone.ResetTokenHash(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(s.usedResyncFile())
	if err != nil || len(strings.Fields(string(b))) != usedResyncTokens {
		t.Fatalf("used list: %d entries, %v; want %d", len(strings.Fields(string(b))), err, usedResyncTokens)
	}
	if strings.Contains(string(b), "00112233445566778899aabbccddeeff") {
		t.Fatal("used list holds a token in clear")
	}
	last := zone.ResetTokenHash(fmt.Sprint(2*usedResyncTokens - 1))
	if !s.resyncTokenUsed(last) {
		t.Fatal("newest token dropped from the bounded list")
	}
	// A pending marker (accepted, not yet wiped) counts as used.
	pending := zone.ResetTokenHash("pending")
	if err := os.WriteFile(s.resyncMarker(), []byte("2026-01-01T00:00:00Z "+pending+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !s.resyncTokenUsed(pending) {
		t.Fatal("the pending marker's token is not seen as used")
	}
	if _, err := os.Stat(filepath.Join(s.cfg.DataDir, "RESYNC.used.tmp")); !os.IsNotExist(err) {
		t.Fatalf("temporary file left behind: %v", err)
	}
}

// TestClientSQLCannotTouchOneHATables: statements naming the token table
// or any other oneha_ table, in any case, are refused before they reach the
// log, naming the statement and the table, every time they are sent; others
// pass.
func TestClientSQLCannotTouchOneHATables(t *testing.T) {
	var c reservedCache
	for _, q := range []string{
		"INSERT INTO oneha_server_reset VALUES (0, 1, 'x', 1)",
		"update `ONEHA_SERVER_RESET` set expires_unix = 0",
		"DROP TABLE Oneha_Server_Reset",
		"DELETE FROM oneha_applied",
		"UPDATE oneha_server SET endpoint = 'x'",
	} {
		for range 2 { // the second time after the first statement was cached
			err := c.refuse(sqlcheck.MySQL, []sqlfsm.Statement{{SQL: "INSERT INTO t VALUES (1)"}, {SQL: q}})
			if !errors.Is(err, sqlfsm.ErrUnsafe) || !strings.Contains(err.Error(), "statement 1") || !strings.Contains(err.Error(), "OneHA's own table") {
				t.Errorf("%q: %v, want refused", q, err)
			}
		}
	}
	if err := c.refuse(sqlcheck.MySQL, []sqlfsm.Statement{{SQL: "INSERT INTO onehax VALUES ('oneha_x')"}}); err != nil {
		t.Errorf("unrelated table refused: %v", err)
	}
}

// TestReservedVerdictIsNotSharedAcrossDialects: a text MySQL passes (a
// string literal is data there) is still refused on SQLite, which reads
// such a literal as a name, after MySQL's verdict was cached.
func TestReservedVerdictIsNotSharedAcrossDialects(t *testing.T) {
	var c reservedCache
	q := []sqlfsm.Statement{{SQL: "DELETE FROM 'oneha_applied'"}}
	for range 2 {
		if err := c.refuse(sqlcheck.MySQL, q); err != nil {
			t.Fatalf("MySQL: %v, want a string literal accepted", err)
		}
		if err := c.refuse(sqlcheck.SQLite, q); !errors.Is(err, sqlfsm.ErrUnsafe) {
			t.Fatalf("SQLite: %v, want refused", err)
		}
	}
}

// TestReservedCacheIsBounded: passing texts are remembered (a second call
// does not lex), at most maxReservedCache of them and none longer than
// maxReservedCacheLen; from many goroutines at once, refused texts are
// refused every time (run under -race by make test-race).
func TestReservedCacheIsBounded(t *testing.T) {
	var c reservedCache
	ok := func(q string) {
		t.Helper()
		if err := c.refuse(sqlcheck.MySQL, []sqlfsm.Statement{{SQL: q}}); err != nil {
			t.Fatalf("%.40q: %v", q, err)
		}
	}
	ok("INSERT INTO t VALUES (1)")
	if _, hit := c.pass[reservedKey{sqlcheck.MySQL, "INSERT INTO t VALUES (1)"}]; !hit {
		t.Fatal("a passing text was not remembered")
	}
	long := "INSERT INTO t VALUES ('" + strings.Repeat("x", maxReservedCacheLen) + "')"
	ok(long)
	if _, hit := c.pass[reservedKey{sqlcheck.MySQL, long}]; hit {
		t.Fatalf("a %d-byte text was remembered (bound %d)", len(long), maxReservedCacheLen)
	}
	for i := range 3 * maxReservedCache {
		ok(fmt.Sprintf("INSERT INTO t VALUES (%d)", i))
		if n := len(c.pass); n > maxReservedCache {
			t.Fatalf("%d texts remembered, bound %d", n, maxReservedCache)
		}
	}

	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				q := []sqlfsm.Statement{{SQL: fmt.Sprintf("UPDATE t SET v = %d", (g*200+i)%700)}}
				if err := c.refuse(sqlcheck.MySQL, q); err != nil {
					t.Errorf("passing text refused: %v", err)
					return
				}
				bad := []sqlfsm.Statement{{SQL: "DELETE FROM oneha_applied"}}
				if err := c.refuse(sqlcheck.MySQL, bad); !errors.Is(err, sqlfsm.ErrUnsafe) {
					t.Errorf("reserved table passed: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkRefuseReserved: the reserved-table rule for loadgen's INSERT,
// lexed on every call (uncached, as before) and through the cache.
func BenchmarkRefuseReserved(b *testing.B) {
	stmts := []sqlfsm.Statement{{SQL: "INSERT INTO bench (s, n) VALUES (?, ?)"}}
	b.Run("uncached", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := sqlcheck.RefuseReserved(sqlcheck.MySQL, stmts[0].SQL, sqlcheck.ReservedPrefix); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		var c reservedCache
		b.ReportAllocs()
		for b.Loop() {
			if err := c.refuse(sqlcheck.MySQL, stmts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached-parallel", func(b *testing.B) { // many writers share the cache
		var c reservedCache
		b.SetParallelism(32)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := c.refuse(sqlcheck.MySQL, stmts); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
