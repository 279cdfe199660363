package harness

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/xmlrpc"
)

// built caches the binaries per test process (test-only state).
var built struct {
	once sync.Once
	dir  string
	err  error
}

// Binaries builds oned, onezone, onesql and onedb once per test process and
// returns the directory holding them.
func Binaries(tb testing.TB) string {
	tb.Helper()
	built.once.Do(func() {
		root, err := ModuleRoot()
		if err != nil {
			built.err = err
			return
		}
		dir, err := os.MkdirTemp("", "oneha-bin-")
		if err != nil {
			built.err = err
			return
		}
		cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/...")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build ./cmd/...: %v\n%s", err, out)
			return
		}
		built.dir = dir
	})
	if built.err != nil {
		tb.Fatalf("harness: %v", built.err)
	}
	return built.dir
}

// ModuleRoot is the directory of the module's go.mod (the repository root).
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the module")
	}
	return filepath.Dir(mod), nil
}

// ZoneOptions shapes a zone of real oned processes.
type ZoneOptions struct {
	N       int              // servers (default 3)
	Dialect sqlcheck.Dialect // default SQLite; MySQL: a database per server on the shared mariadbd
	// ElectionTimeoutMS for every server (default 500).
	ElectionTimeoutMS int
	// Lab runs each server in its own host namespace of this lab (port
	// 2633 on the host's address) instead of on 127.0.0.1.
	Lab *Lab
	// VIP, with Lab: the floating address (CIDR) every server configures
	// on eth0 (config key VIP).
	VIP string
	// Extra is appended to every server's config (e.g. hook keys).
	Extra string
	// Raft is added inside every server's RAFT mapping, e.g.
	// "DEAD_SERVER_TIMEOUT_S: 3, MIN_QUORUM: 3".
	Raft string
	// HostPrefix, with Lab, names this zone's hosts (default "s": s0,
	// s1, …); two zones in one lab need different prefixes.
	HostPrefix string
	// ZoneID is FEDERATION.ZONE_ID (default 0).
	ZoneID int
	// Federation is added inside every Raft server's FEDERATION mapping,
	// e.g. "MODE: SLAVE, MASTER_ONED: http://…" (not on a solo start).
	Federation string
	// AuthFrom, when set, is a zone whose ONE_AUTH file (and so its .one
	// folder, with the zone CA) this zone shares, as the zones of a
	// federation do; default a fresh oneadmin password and CA.
	AuthFrom *ProcZone
	// MariaDBFor, with MySQL, may return a private instance for server i
	// (e.g. one started with other server defaults); nil: the shared one.
	MariaDBFor func(i int) *MariaDB
}

// ProcZone is a zone of oned processes on 127.0.0.1.
type ProcZone struct {
	tb      testing.TB
	opts    ZoneOptions
	Bin     string
	Dir     string
	Auth    string // path of the ONE_AUTH file
	Session string // its content
	Servers []*Oned
}

// Oned is one oned process.
type Oned struct {
	z        *ProcZone
	ID       int
	Port     int
	Dir      string
	Config   string
	Endpoint string
	DSN      string // MySQL only
	cmd      *exec.Cmd
	done     chan struct{}
	Host     *Host  // with ZoneOptions.Lab
	Extra    string // appended to this server's config after ZoneOptions.Extra
}

// NewProcZone prepares n servers (configs, ports, databases) without
// starting them. FormZone follows seed 003's procedure to start them.
func NewProcZone(tb testing.TB, opts ZoneOptions) *ProcZone {
	tb.Helper()
	if opts.N == 0 {
		opts.N = 3
	}
	if opts.Dialect == "" {
		opts.Dialect = sqlcheck.SQLite
	}
	if opts.ElectionTimeoutMS == 0 {
		opts.ElectionTimeoutMS = 500
	}
	z := &ProcZone{tb: tb, opts: opts, Bin: Binaries(tb), Dir: tb.TempDir()}
	if opts.AuthFrom != nil {
		z.Auth, z.Session = opts.AuthFrom.Auth, opts.AuthFrom.Session
	} else {
		z.Auth = filepath.Join(z.Dir, "one_auth")
		z.Session = "oneadmin:" + strconv.FormatInt(time.Now().UnixNano(), 36)
		if err := os.WriteFile(z.Auth, []byte(z.Session+"\n"), 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	for i := 0; i < opts.N; i++ {
		o := &Oned{z: z, ID: i, Dir: filepath.Join(z.Dir, "server-"+strconv.Itoa(i))}
		if opts.Lab != nil {
			prefix := opts.HostPrefix
			if prefix == "" {
				prefix = "s"
			}
			o.Host = opts.Lab.AddHost(tb, fmt.Sprintf("%s%d", prefix, i))
			o.Port = 2633
			o.Endpoint = fmt.Sprintf("http://%s:%d/RPC2", o.Host.IP, o.Port)
		} else {
			p, err := FreePort()
			if err != nil {
				tb.Fatal(err)
			}
			o.Port = p
			o.Endpoint = fmt.Sprintf("http://127.0.0.1:%d/RPC2", p)
		}
		o.Config = filepath.Join(o.Dir, "oned.yaml")
		if err := os.MkdirAll(o.Dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		if opts.Dialect == sqlcheck.MySQL {
			m := SharedMariaDB(tb)
			if opts.MariaDBFor != nil {
				if p := opts.MariaDBFor(i); p != nil {
					m = p
				}
			}
			// Unique per instance, so -count=2 does not meet the first run's databases.
			o.DSN = m.CreateDatabase(tb, m.uniqueName(fmt.Sprintf("%s_s%d", sanitize(tb.Name()), i)))
		}
		z.Servers = append(z.Servers, o)
	}
	tb.Cleanup(z.stopAll)
	return z
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}

// WriteConfig writes o's config with the given SERVER_ID.
func (o *Oned) WriteConfig(serverID int) {
	var db string
	if o.z.opts.Dialect == sqlcheck.MySQL {
		host, port, user, name := mysqlParts(o.DSN)
		db = fmt.Sprintf("DB: {BACKEND: mysql, SERVER: %s, PORT: %s, USER: %s, DB_NAME: %s}\n", host, port, user, name)
	}
	listen := "127.0.0.1"
	if o.Host != nil {
		listen = "0.0.0.0" // as in production: reachable on the host address and the VIP
		if o.z.opts.VIP != "" {
			db += fmt.Sprintf("VIP: [{INTERFACE: %s, ADDRESS: %s}]\n", o.Host.Iface, o.z.opts.VIP)
		}
	}
	raftExtra := ""
	if o.z.opts.Raft != "" {
		raftExtra = ", " + o.z.opts.Raft
	}
	fed := ""
	if o.z.opts.Federation != "" && serverID >= 0 {
		fed = ", " + o.z.opts.Federation
	}
	cfg := fmt.Sprintf("LISTEN_ADDRESS: %s\nPORT: %d\nDATA_DIR: %s\nONE_AUTH: %s\nLOG_LEVEL: debug\n%sFEDERATION: {ZONE_ID: %d, SERVER_ID: %d%s}\nRAFT: {ELECTION_TIMEOUT_MS: %d%s}\n%s",
		listen, o.Port, filepath.Join(o.Dir, "data"), o.z.Auth, db, o.z.opts.ZoneID, serverID, fed, o.z.opts.ElectionTimeoutMS, raftExtra, o.z.opts.Extra+o.Extra)
	if err := os.WriteFile(o.Config, []byte(cfg), 0o600); err != nil {
		o.z.tb.Fatal(err)
	}
}

// mysqlParts splits "root@tcp(127.0.0.1:port)/db?..." for a config file.
func mysqlParts(dsn string) (host, port, user, name string) {
	user, rest, _ := strings.Cut(dsn, "@tcp(")
	addr, rest, _ := strings.Cut(rest, ")/")
	host, port, _ = strings.Cut(addr, ":")
	name, _, _ = strings.Cut(rest, "?")
	return host, port, user, name
}

// DBName is the database a MySQL DSN names ("root@tcp(host:port)/db?...").
func DBName(dsn string) string {
	_, _, _, name := mysqlParts(dsn)
	return name
}

// Start runs oned and waits until its API answers.
func (o *Oned) Start() {
	o.z.tb.Helper()
	if o.cmd != nil {
		o.z.tb.Fatalf("harness: oned %d already running", o.ID)
	}
	logf, err := os.OpenFile(filepath.Join(o.Dir, "oned.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		o.z.tb.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(o.z.Bin, "oned"), "--config", o.Config)
	if o.Host != nil {
		cmd = o.Host.Command(context.Background(), filepath.Join(o.z.Bin, "oned"), "--config", o.Config)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		o.z.tb.Fatal(err)
	}
	o.cmd, o.done = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); logf.Close(); close(done) }(o.done)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-o.done:
			o.z.tb.Fatalf("harness: oned %d exited at start:\n%s", o.ID, o.LogTail(30))
		default:
		}
		if _, err := o.Call(context.Background(), "one.system.version"); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	o.z.tb.Fatalf("harness: oned %d did not answer:\n%s", o.ID, o.LogTail(30))
}

// Kill sends SIGKILL and waits for the process to go.
func (o *Oned) Kill() { o.signal(syscall.SIGKILL) }

// Stop sends SIGTERM (clean shutdown) and waits.
func (o *Oned) Stop() { o.signal(syscall.SIGTERM) }

func (o *Oned) signal(sig syscall.Signal) {
	if o.cmd == nil {
		return
	}
	o.cmd.Process.Signal(sig)
	select {
	case <-o.done:
	case <-time.After(40 * time.Second):
		o.cmd.Process.Kill()
		<-o.done
		o.z.tb.Errorf("harness: oned %d ignored %v for 40s", o.ID, sig)
	}
	o.cmd = nil
}

// WaitExit waits until the process exits by itself and returns its exit
// code.
func (o *Oned) WaitExit(timeout time.Duration) int {
	o.z.tb.Helper()
	if o.cmd == nil {
		o.z.tb.Fatalf("harness: oned %d is not running", o.ID)
	}
	select {
	case <-o.done:
	case <-time.After(timeout):
		o.z.tb.Fatalf("harness: oned %d did not exit within %v:\n%s", o.ID, timeout, o.LogTail(30))
	}
	code := o.cmd.ProcessState.ExitCode()
	o.cmd = nil
	return code
}

// DBFlags are onedb's flags that name this server's database.
func (o *Oned) DBFlags() []string {
	if o.z.opts.Dialect == sqlcheck.SQLite {
		return []string{"--sqlite", filepath.Join(o.Dir, "data", "one.db")}
	}
	host, port, user, name := mysqlParts(o.DSN)
	return []string{"-S", host, "-P", port, "-u", user, "-d", name}
}

// Killed does what systemd's ExecStopPost does after the process ended
// (deploy/oned.service): `oned vip release`, so a killed leader does not
// keep the floating address.
func (o *Oned) Killed() {
	o.z.tb.Helper()
	cmd := exec.Command(filepath.Join(o.z.Bin, "oned"), "vip", "release", "--config", o.Config)
	if o.Host != nil {
		cmd = o.Host.Command(context.Background(), filepath.Join(o.z.Bin, "oned"), "vip", "release", "--config", o.Config)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		o.z.tb.Fatalf("harness: oned vip release on %d: %v\n%s", o.ID, err, out)
	}
}

// PID is the process ID of the running oned (0 when it is not running).
func (o *Oned) PID() int {
	if o.cmd == nil || o.cmd.Process == nil {
		return 0
	}
	return o.cmd.Process.Pid
}

// Running reports whether the process is up.
func (o *Oned) Running() bool { return o.cmd != nil }

// LogTail returns the last n lines of the server's log.
func (o *Oned) LogTail(n int) string { return tail(filepath.Join(o.Dir, "oned.log"), n) }

// Call invokes method on this server with the zone's session and returns
// the unpacked OpenNebula result (or its *xmlrpc.Error).
func (o *Oned) Call(ctx context.Context, method string, params ...any) (any, error) {
	return xmlrpc.NewClient(o.Endpoint, 15*time.Second).CallONE(ctx, method, append([]any{o.z.Session}, params...)...)
}

// Health is the part of a server's GET /status the harness reads.
type Health struct {
	AppliedIndex uint64 `json:"APPLIED_INDEX"`
	Degraded     string `json:"DEGRADED"` // why the database cannot apply now; "" when it can
}

// Health reads o's /status (same port as XML-RPC).
func (o *Oned) Health(ctx context.Context) (Health, error) {
	var h Health
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(o.Endpoint, "/RPC2")+"/status", nil)
	if err != nil {
		return h, err
	}
	user, pass, _ := strings.Cut(o.z.Session, ":")
	req.SetBasicAuth(user, pass)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return h, fmt.Errorf("harness: status of server %d: %w", o.ID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return h, fmt.Errorf("harness: status of server %d: HTTP %s", o.ID, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return h, fmt.Errorf("harness: status of server %d: %w", o.ID, err)
	}
	return h, nil
}

// RaftStatus is the part of one.zone.raftstatus tests and benchmarks read.
type RaftStatus struct {
	State    int   `xml:"STATE"` // 0 solo, 1 candidate, 2 follower, 3 leader
	Term     int64 `xml:"TERM"`
	LogIndex int64 `xml:"LOG_INDEX"`
	LogTerm  int64 `xml:"LOG_TERM"`
}

// RaftStatus is o's one.zone.raftstatus; ok is false when the server does
// not answer.
func (o *Oned) RaftStatus() (st RaftStatus, ok bool) {
	if o.cmd == nil {
		return st, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v, err := o.Call(ctx, "one.zone.raftstatus")
	if err != nil {
		return st, false
	}
	s, _ := v.(string)
	if xml.Unmarshal([]byte(s), &st) != nil {
		return RaftStatus{}, false
	}
	return st, true
}

// RaftState is the STATE of one.zone.raftstatus: 0 solo, 1 candidate,
// 2 follower, 3 leader, or -1 when the server does not answer.
func (o *Oned) RaftState() int {
	st, ok := o.RaftStatus()
	if !ok {
		return -1
	}
	return st.State
}

// WaitState waits until o reports state.
func (o *Oned) WaitState(state int, timeout time.Duration) {
	o.z.tb.Helper()
	deadline := time.Now().Add(timeout)
	for o.RaftState() != state {
		if time.Now().After(deadline) {
			o.z.tb.Fatalf("harness: oned %d state %d, want %d:\n%s", o.ID, o.RaftState(), state, o.LogTail(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SetElectionTimeout changes ELECTION_TIMEOUT_MS for the configs written
// from now on (WriteConfig); running servers keep theirs until restarted.
func (z *ProcZone) SetElectionTimeout(ms int) { z.opts.ElectionTimeoutMS = ms }

// Leader returns the running server that reports STATE leader, waiting up
// to timeout.
func (z *ProcZone) Leader(timeout time.Duration) *Oned {
	z.tb.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, o := range z.Servers {
			if o.RaftState() == 3 {
				return o
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	z.tb.Fatalf("harness: no leader within %v", timeout)
	return nil
}

// FormZone builds the zone as seed 003 does: server 0 starts solo,
// `server-add` records it, it restarts with SERVER_ID 0 and leads; then each
// further server is added on the leader and started with its SERVER_ID and
// an empty database, and the next one waits until it is a follower.
func (z *ProcZone) FormZone() {
	z.tb.Helper()
	z.FormFirst()
	for _, o := range z.Servers[1:] {
		z.AddServer(o)
	}
	z.WaitVoters(len(z.Servers), 60*time.Second)
}

// FormFirst does the seed's first step only: server 0 solo, server-add,
// restart with SERVER_ID 0 as the leader of a one-server zone.
func (z *ProcZone) FormFirst() {
	z.tb.Helper()
	ctx := context.Background()
	s0 := z.Servers[0]
	s0.WriteConfig(-1)
	s0.Start()
	if _, err := s0.Call(ctx, "one.zone.addserver", z.opts.ZoneID, fmt.Sprintf(`SERVER = [ NAME = "server-0", ENDPOINT = "%s" ]`, s0.Endpoint)); err != nil {
		z.tb.Fatalf("harness: server-add 0: %v", err)
	}
	s0.Stop()
	s0.WriteConfig(0)
	s0.Start()
	s0.WaitState(3, 20*time.Second)
}

// WaitVoters waits until the leader's configuration has n voters.
func (z *ProcZone) WaitVoters(n int, timeout time.Duration) {
	z.tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		l := z.Leader(timeout)
		v, err := l.Call(context.Background(), "one.zone.members")
		if err == nil {
			voters := 0
			for _, m := range v.([]any) {
				if m.(map[string]any)["VOTER"] == true {
					voters++
				}
			}
			if voters == n {
				return
			}
		}
		if time.Now().After(deadline) {
			z.tb.Fatalf("harness: zone never reached %d voters within %v; leader %d's members: %v (%v); its log:\n%s",
				n, timeout, l.ID, v, err, l.LogTail(40))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// AddServer adds o on the current leader and starts it with an empty
// database; it returns once o is a follower that is a voter.
func (z *ProcZone) AddServer(o *Oned) {
	z.tb.Helper()
	ctx := context.Background()
	l := z.Leader(20 * time.Second)
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := l.Call(ctx, "one.zone.addserver", z.opts.ZoneID, fmt.Sprintf(`SERVER = [ NAME = "server-%d", ENDPOINT = "%s" ]`, o.ID, o.Endpoint))
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "join") || time.Now().After(deadline) {
			z.tb.Fatalf("harness: server-add %d: %v", o.ID, err)
		}
		time.Sleep(100 * time.Millisecond) // the previous server is still catching up
	}
	o.WriteConfig(o.ID)
	o.Start()
	o.WaitState(2, 30*time.Second)
}

func (z *ProcZone) stopAll() {
	for _, o := range z.Servers {
		o.Kill()
	}
}
