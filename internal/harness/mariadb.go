package harness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// InCI reports whether the tests run in CI (env CI=true), where a missing
// dependency is a failure rather than a reason to skip.
func InCI() bool { return os.Getenv("CI") == "true" }

// RequireOrSkip does nothing when cond holds. Otherwise it ends the test:
// tb.Fatal when running in CI (a skip would hide the gap), tb.Skip elsewhere.
// reason says what is missing and how to get it.
func RequireOrSkip(tb testing.TB, cond bool, reason string) {
	tb.Helper()
	if cond {
		return
	}
	if InCI() {
		tb.Fatal(reason + " (CI=true: a missing dependency fails the run)")
	}
	tb.Skip(reason)
}

// Timeouts for a private mariadbd. Generous: CI machines are slow.
const (
	readyTimeout    = 60 * time.Second
	shutdownTimeout = 60 * time.Second
	pollInterval    = 20 * time.Millisecond
	// maxPortTries bounds retries when the free port picked is taken before
	// mariadbd binds it (another process raced us).
	maxPortTries = 3
	// templateVersion changes whenever installArgs change, so a stale
	// template cached in the temp dir is never reused.
	templateVersion = "2"
)

// installArgs are passed to mariadb-install-db and mariadbd alike, so the
// template's InnoDB files match the server's settings.
var installArgs = []string{
	"--innodb-log-file-size=8M",
	"--innodb-buffer-pool-size=64M",
}

// MariaDB is a private mariadbd owned by one test (StartMariaDB) or by the
// test process (SharedMariaDB). It listens on 127.0.0.1:Port and Socket only;
// root has no password on both. It never uses the system server or its
// config files (--no-defaults).
//
// Methods that change the process state (Kill, Start, Stop) must not be
// called concurrently with each other.
type MariaDB struct {
	// Dir holds everything of this instance: data/, the socket, the error
	// log, the pid file. Removed when the instance is cleaned up.
	Dir string
	// Socket is the unix socket path (short: under the system temp dir).
	Socket string
	// Port is the TCP port on 127.0.0.1; it stays the same across restarts.
	Port int
	// ErrLog is mariadbd's error log.
	ErrLog string

	bins       binaries
	flushLog   int
	extraArgs  []string
	proc       *exec.Cmd
	exited     chan struct{} // closed when proc has been reaped
	dbCounter  atomic.Int64
	startedFor time.Duration // last startup time, for diagnostics
}

// MariaDBOption configures StartMariaDB.
type MariaDBOption func(*MariaDB)

// WithFlushLogAtTrxCommit sets --innodb_flush_log_at_trx_commit (default 1,
// durable; 2 or 0 trade crash safety of the last second for speed).
func WithFlushLogAtTrxCommit(n int) MariaDBOption {
	return func(m *MariaDB) { m.flushLog = n }
}

// WithServerArgs appends raw mariadbd flags (for example
// "--lower-case-table-names=1" to test fingerprints).
func WithServerArgs(args ...string) MariaDBOption {
	return func(m *MariaDB) { m.extraArgs = append(m.extraArgs, args...) }
}

// binaries are the MariaDB executables the harness needs.
type binaries struct {
	server, installDB string
}

// findBinaries looks in PATH, then in the Debian locations (sbin is not in a
// non-root PATH).
func findBinaries() (binaries, error) {
	find := func(names ...string) string {
		for _, n := range names {
			if p, err := exec.LookPath(n); err == nil {
				return p
			}
			for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"} {
				p := filepath.Join(dir, n)
				if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
					return p
				}
			}
		}
		return ""
	}
	b := binaries{server: find("mariadbd", "mysqld"), installDB: find("mariadb-install-db", "mysql_install_db")}
	switch {
	case b.server == "":
		return b, errors.New("mariadbd not installed")
	case b.installDB == "":
		return b, errors.New("mariadb-install-db not installed")
	}
	return b, nil
}

// requireBinaries skips (or fails in CI) when MariaDB is not installed.
func requireBinaries(tb testing.TB) binaries {
	tb.Helper()
	b, err := findBinaries()
	RequireOrSkip(tb, err == nil, fmt.Sprintf("%v: run make test, which installs mariadb-server", err))
	return b
}

// StartMariaDB starts a private mariadbd for this test: a fresh datadir
// copied from a per-machine template (built once with mariadb-install-db),
// a free port on 127.0.0.1, its own socket, no binlog,
// innodb_autoinc_lock_mode=1, a 64M buffer pool and 8M redo log. It returns
// once the server answers queries; tb.Cleanup stops it and removes Dir.
func StartMariaDB(tb testing.TB, opts ...MariaDBOption) *MariaDB {
	tb.Helper()
	m, err := newMariaDB(requireBinaries(tb), opts...)
	if err != nil {
		tb.Fatalf("harness: start mariadb: %v", err)
	}
	tb.Cleanup(func() {
		if err := m.close(); err != nil {
			tb.Errorf("harness: stop mariadb: %v", err)
		}
	})
	if err := m.start(context.Background()); err != nil {
		tb.Fatalf("harness: start mariadb: %v", err)
	}
	tb.Logf("harness: mariadbd on 127.0.0.1:%d ready in %v (dir %s)", m.Port, m.startedFor.Round(time.Millisecond), m.Dir)
	return m
}

// newMariaDB prepares Dir from the template; it does not start the server.
func newMariaDB(b binaries, opts ...MariaDBOption) (*MariaDB, error) {
	tmpl, err := template(context.Background(), b)
	if err != nil {
		return nil, err
	}
	// os.MkdirTemp, not tb.TempDir: the socket path must stay under 108 bytes.
	dir, err := os.MkdirTemp("", "oneha-mdb-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	m := &MariaDB{
		Dir:      dir,
		Socket:   filepath.Join(dir, "mysqld.sock"),
		ErrLog:   filepath.Join(dir, "error.log"),
		bins:     b,
		flushLog: 1,
	}
	for _, o := range opts {
		o(m)
	}
	if err := copyTree(tmpl, filepath.Join(dir, "data")); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("copy template datadir: %w", err)
	}
	return m, nil
}

// DSN returns a go-sql-driver DSN for database db (may be empty) over TCP as
// root without password, parseTime=false, multiStatements=false.
func (m *MariaDB) DSN(db string) string {
	return m.config(db).FormatDSN()
}

func (m *MariaDB) config(db string) *mysql.Config {
	c := mysql.NewConfig()
	c.User = "root"
	c.Net = "tcp"
	c.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(m.Port))
	c.DBName = db
	c.ParseTime = false
	c.MultiStatements = false
	return c
}

// CreateDatabase creates database name (a unique name derived from tb.Name()
// when name is empty) and returns its DSN (see DSN).
func (m *MariaDB) CreateDatabase(tb testing.TB, name string) string {
	tb.Helper()
	if name == "" {
		name = m.uniqueName(tb.Name())
	}
	db, err := sql.Open("mysql", m.DSN(""))
	if err != nil {
		tb.Fatalf("harness: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE `"+strings.ReplaceAll(name, "`", "``")+"`"); err != nil {
		tb.Fatalf("harness: create database %q: %v", name, err)
	}
	return m.DSN(name)
}

// uniqueName turns a test name into a database name unique on this instance.
func (m *MariaDB) uniqueName(testName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(testName) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if len(s) > 40 {
		s = s[:40]
	}
	return fmt.Sprintf("t_%s_%d", s, m.dbCounter.Add(1))
}

// Kill sends SIGKILL to mariadbd and waits until it is gone (fault
// injection: InnoDB recovers on the next Start).
func (m *MariaDB) Kill(tb testing.TB) {
	tb.Helper()
	if m.proc == nil {
		tb.Fatal("harness: Kill: mariadbd not running")
	}
	_ = m.proc.Process.Kill()
	<-m.exited
	m.proc = nil
}

// Stop shuts mariadbd down cleanly (SIGTERM) and waits for it.
func (m *MariaDB) Stop(tb testing.TB) {
	tb.Helper()
	if err := m.stop(); err != nil {
		tb.Fatalf("harness: Stop: %v", err)
	}
}

// Start restarts mariadbd on the same Dir and Port after Kill or Stop and
// waits until it answers.
func (m *MariaDB) Start(tb testing.TB) {
	tb.Helper()
	if m.proc != nil {
		tb.Fatal("harness: Start: mariadbd already running")
	}
	if err := m.start(context.Background()); err != nil {
		tb.Fatalf("harness: Start: %v", err)
	}
}

// Running reports whether mariadbd was started and not yet stopped or killed.
func (m *MariaDB) Running() bool { return m.proc != nil }

// PID is the process ID of the running mariadbd (0 when it is not running),
// e.g. to read its CPU time from /proc or count its system calls.
func (m *MariaDB) PID() int {
	if m.proc == nil || m.proc.Process == nil {
		return 0
	}
	return m.proc.Process.Pid
}

func (m *MariaDB) args() []string {
	a := []string{
		"--no-defaults", // must be first: never read /etc/mysql
		"--datadir=" + filepath.Join(m.Dir, "data"),
		"--socket=" + m.Socket,
		"--port=" + strconv.Itoa(m.Port),
		"--bind-address=127.0.0.1",
		"--pid-file=" + filepath.Join(m.Dir, "mysqld.pid"),
		"--log-error=" + m.ErrLog,
		"--skip-log-bin",
		"--skip-name-resolve",
		"--innodb-autoinc-lock-mode=1",
		"--innodb-flush-log-at-trx-commit=" + strconv.Itoa(m.flushLog),
		"--max-connections=500",
	}
	if os.Geteuid() == 0 {
		a = append(a, "--user=root")
	}
	a = append(a, installArgs...)
	return append(a, m.extraArgs...)
}

// start launches mariadbd and waits until it answers. On the first start a
// port is chosen; if another process grabs it first, a new one is tried.
func (m *MariaDB) start(ctx context.Context) error {
	begin := time.Now()
	choose := m.Port == 0
	for try := 1; ; try++ {
		if choose {
			p, err := FreePort()
			if err != nil {
				return err
			}
			m.Port = p
		}
		err := m.launch(ctx)
		if err == nil {
			m.startedFor = time.Since(begin)
			return nil
		}
		if !choose || try >= maxPortTries || !m.portInUse() {
			return err
		}
	}
}

// portInUse reports whether the error log says the port was taken.
func (m *MariaDB) portInUse() bool {
	b, _ := os.ReadFile(m.ErrLog)
	return bytes.Contains(b, []byte("Address already in use"))
}

func (m *MariaDB) launch(ctx context.Context) error {
	if err := os.Truncate(m.ErrLog, 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	out, err := os.OpenFile(m.ErrLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer out.Close() // the child has its own copy
	cmd := exec.Command(m.bins.server, m.args()...)
	cmd.Stdout, cmd.Stderr = out, out
	// Pdeathsig: if the test binary dies (panic, -timeout, SIGKILL) the
	// kernel kills mariadbd too. Go never retires the threads of its pool
	// unless a goroutine exits while locked to one, which the harness never
	// does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("exec %s: %w", m.bins.server, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	m.proc, m.exited = cmd, exited
	if err := m.waitReady(ctx); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		m.proc = nil
		return fmt.Errorf("%w\n--- tail of %s ---\n%s", err, m.ErrLog, tail(m.ErrLog, 30))
	}
	return nil
}

// waitReady polls until a query succeeds, mariadbd exits, or time runs out.
func (m *MariaDB) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	cfg := m.config("")
	cfg.Timeout = time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	var last error
	for {
		var one int
		if last = db.QueryRowContext(ctx, "SELECT 1").Scan(&one); last == nil {
			return nil
		}
		if myErr := (*mysql.MySQLError)(nil); errors.As(last, &myErr) {
			return fmt.Errorf("mariadbd answers but refuses: %w", last) // retrying will not help
		}
		select {
		case <-m.exited:
			return fmt.Errorf("mariadbd exited during startup (%v)", m.proc.ProcessState)
		case <-ctx.Done():
			return fmt.Errorf("mariadbd not ready after %v: %w", readyTimeout, last)
		case <-time.After(pollInterval):
		}
	}
}

func (m *MariaDB) stop() error {
	if m.proc == nil {
		return nil
	}
	_ = m.proc.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.exited:
	case <-time.After(shutdownTimeout):
		_ = m.proc.Process.Kill()
		<-m.exited
		m.proc = nil
		return fmt.Errorf("mariadbd did not shut down in %v; killed\n%s", shutdownTimeout, tail(m.ErrLog, 30))
	}
	m.proc = nil
	return nil
}

// close stops the server and removes Dir.
func (m *MariaDB) close() error {
	err := m.stop()
	return errors.Join(err, os.RemoveAll(m.Dir))
}

// ---- the datadir template -------------------------------------------------

// template returns a pristine datadir made by mariadb-install-db. It is
// built once per machine and mariadbd version into the system temp dir
// (atomically: built aside, then renamed), so later test processes only copy
// it (~30 ms) instead of bootstrapping (~1-2 s).
func template(ctx context.Context, b binaries) (string, error) {
	st, err := os.Stat(b.server)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\x00%d\x00%s", templateVersion, b.server, st.Size(), st.ModTime().UnixNano(), os.Geteuid(), strings.Join(installArgs, " "))
	final := filepath.Join(os.TempDir(), "oneha-mdb-template-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(final, "mysql", "global_priv.MAI")); err == nil {
		return final, nil
	}
	work, err := os.MkdirTemp("", "oneha-mdb-template-build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	data := filepath.Join(work, "data")
	args := []string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal", "--skip-test-db", "--skip-name-resolve"}
	if os.Geteuid() == 0 {
		args = append(args, "--user=root")
	}
	args = append(args, installArgs...)
	cmd := exec.CommandContext(ctx, b.installDB, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s: %w\n%s", b.installDB, err, lastLines(out, 30))
	}
	if err := os.Rename(data, final); err != nil {
		// Another process won the race; its template is as good as ours.
		if _, statErr := os.Stat(filepath.Join(final, "mysql", "global_priv.MAI")); statErr == nil {
			return final, nil
		}
		return "", fmt.Errorf("install template: %w", err)
	}
	return final, nil
}

// copyTree copies a directory of regular files (a datadir).
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o660)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	return lastLines(b, n)
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ---- the shared instance ----------------------------------------------------

// shared is the process-wide instance behind SharedMariaDB. Test-only state:
// started on first use, stopped by Main.
var shared struct {
	once sync.Once
	m    *MariaDB
	err  error
}

// SharedMariaDB returns the test process's shared instance, starting it on
// first use. Tests must not Kill/Stop it; each test creates its own database
// with CreateDatabase. Use Main in TestMain so it is stopped and its Dir
// removed when the tests end; without Main it still dies with the process
// (Pdeathsig) but leaves its Dir behind.
func SharedMariaDB(tb testing.TB) *MariaDB {
	tb.Helper()
	b := requireBinaries(tb)
	shared.once.Do(func() {
		m, err := newMariaDB(b)
		if err == nil {
			err = m.start(context.Background())
			if err != nil {
				_ = m.close()
			}
		}
		shared.m, shared.err = m, err
	})
	if shared.err != nil {
		tb.Fatalf("harness: shared mariadb: %v", shared.err)
	}
	return shared.m
}

// Main runs the tests, then stops the shared instance (if one was started)
// and exits with the tests' code. Call it from TestMain:
//
//	func TestMain(m *testing.M) { harness.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if shared.m != nil && shared.err == nil {
		if err := shared.m.close(); err != nil {
			fmt.Fprintf(os.Stderr, "harness: stop shared mariadb: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}
