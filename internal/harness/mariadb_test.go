package harness

import (
	"context"
	"database/sql"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

func TestRequireOrSkip(t *testing.T) {
	tests := []struct {
		name     string
		ci       string
		cond     bool
		wantSkip bool
		wantFail bool
	}{
		{"met", "", true, false, false},
		{"met in CI", "true", true, false, false},
		{"missing locally skips", "", false, true, false},
		{"missing in CI fails", "true", false, false, true},
		{"CI=false is local", "false", false, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			rec := &recorder{TB: t}
			done := make(chan struct{})
			go func() { // Skip/Fatal call runtime.Goexit
				defer close(done)
				RequireOrSkip(rec, tt.cond, "thing missing")
			}()
			<-done
			if rec.skipped != tt.wantSkip || rec.failed != tt.wantFail {
				t.Fatalf("skipped=%v failed=%v, want %v %v", rec.skipped, rec.failed, tt.wantSkip, tt.wantFail)
			}
		})
	}
}

// recorder captures Skip/Fatal instead of ending the real test.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Skip(...any)           { r.skipped = true; runtimeGoexit() }
func (r *recorder) Fatal(...any)          { r.failed = true; runtimeGoexit() }
func (r *recorder) Skipf(string, ...any)  { r.skipped = true; runtimeGoexit() }
func (r *recorder) Fatalf(string, ...any) { r.failed = true; runtimeGoexit() }

func open(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStartMariaDBSettings(t *testing.T) {
	m := StartMariaDB(t, WithFlushLogAtTrxCommit(2))
	db := open(t, m.CreateDatabase(t, ""))
	ctx := context.Background()
	tests := []struct{ query, want string }{
		{"SELECT @@innodb_flush_log_at_trx_commit", "2"},
		{"SELECT @@innodb_autoinc_lock_mode", "1"},
		{"SELECT @@log_bin", "0"},
		{"SELECT @@bind_address", "127.0.0.1"},
		{"SELECT @@skip_networking", "0"},
		{"SELECT @@innodb_buffer_pool_size", "67108864"},
		{"SELECT @@socket", m.Socket},
		{"SELECT CURRENT_USER()", "root@127.0.0.1"},
		{"SELECT DATABASE() LIKE 't_teststartmariadbsettings_%'", "1"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var got string
			if err := db.QueryRowContext(ctx, tt.query).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestKillStartKeepsCommittedData(t *testing.T) {
	m := StartMariaDB(t)
	dsn := m.CreateDatabase(t, "crash")
	ctx := context.Background()
	db := open(t, dsn)
	if _, err := db.ExecContext(ctx, "CREATE TABLE t (id INT PRIMARY KEY)"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "INSERT INTO t VALUES (1),(2)"); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		do   func(testing.TB)
	}{
		{"kill", m.Kill},
		{"stop", m.Stop},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			pid := m.proc.Process.Pid
			s.do(t)
			if err := syscall.Kill(pid, 0); err == nil {
				t.Fatalf("mariadbd %d still alive after %s", pid, s.name)
			}
			port := m.Port
			m.Start(t)
			if m.Port != port {
				t.Fatalf("port changed %d -> %d", port, m.Port)
			}
			var n int
			if err := open(t, dsn).QueryRowContext(ctx, "SELECT COUNT(*) FROM t").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Fatalf("rows after %s = %d, want 2", s.name, n)
			}
		})
	}
}

func TestSharedMariaDBIsShared(t *testing.T) {
	a, b := SharedMariaDB(t), SharedMariaDB(t)
	if a != b {
		t.Fatal("SharedMariaDB returned two instances")
	}
	d1, d2 := a.CreateDatabase(t, ""), a.CreateDatabase(t, "")
	if d1 == d2 {
		t.Fatalf("CreateDatabase returned the same DSN twice: %s", d1)
	}
}

func TestStartupFailureShowsErrorLog(t *testing.T) {
	b := requireBinaries(t)
	m, err := newMariaDB(b, WithServerArgs("--no-such-option-oneha"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	start := time.Now()
	err = m.start(context.Background())
	if err == nil {
		t.Fatal("start with a bad option succeeded")
	}
	if !strings.Contains(err.Error(), "no-such-option-oneha") || !strings.Contains(err.Error(), "tail of") {
		t.Fatalf("error lacks the error log tail: %v", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatalf("failure detection took %v", time.Since(start))
	}
	if _, err := os.Stat(m.Dir); err != nil {
		t.Fatalf("dir gone before cleanup: %v", err)
	}
}

func BenchmarkStartMariaDB(b *testing.B) {
	for b.Loop() {
		m := StartMariaDB(b)
		m.Stop(b)
		_ = m.close()
	}
}

func runtimeGoexit() { runtime.Goexit() }
