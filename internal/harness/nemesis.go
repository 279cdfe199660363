package harness

// Fault-injection helpers for nemesis tests (internal/chaos): signals to a
// running oned, pairwise partitions between lab hosts, and a private
// mariadbd inside a lab host's namespace ("a MariaDB per host").

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/oneha/oneha/sqlcheck"
)

// Pid returns the oned process id (0 when it is not running). In a lab the
// process is `ip netns exec NS oned …`, which execs oned in place, so the
// pid is oned's own.
func (o *Oned) Pid() int {
	if o.cmd == nil || o.cmd.Process == nil {
		return 0
	}
	return o.cmd.Process.Pid
}

// Signal sends sig to the running oned and returns at once (unlike Kill and
// Stop, it does not wait for an exit): for SIGSTOP/SIGCONT. A no-op when
// the server is not running.
func (o *Oned) Signal(sig syscall.Signal) {
	o.z.tb.Helper()
	if o.cmd == nil {
		return
	}
	if err := o.cmd.Process.Signal(sig); err != nil {
		o.z.tb.Fatalf("harness: signal %v to oned %d: %v", sig, o.ID, err)
	}
}

// DataDir is the server's DATA_DIR (the SQLite file is DataDir/one.db).
func (o *Oned) DataDir() string { return filepath.Join(o.Dir, "data") }

// nftPeersTable is the table DropPeers installs; separate from Drop's, so
// the two can be combined and healed independently.
const nftPeersTable = "oneha_peers"

// DropPeers cuts the host off from the given addresses only (IPv4, both
// directions), leaving every other peer — and the test's client — reachable.
// It replaces an earlier DropPeers on this host. With no addresses it is
// UndropPeers.
func (h *Host) DropPeers(tb testing.TB, peers ...netip.Addr) {
	tb.Helper()
	if len(peers) == 0 {
		h.UndropPeers(tb)
		return
	}
	_, err := exec.LookPath("nft")
	RequireOrSkip(tb, err == nil, "Host.DropPeers needs the nft command: apt-get install nftables")
	set := make([]string, len(peers))
	for i, p := range peers {
		set[i] = p.String()
	}
	script := fmt.Sprintf(`add table inet %[1]s
delete table inet %[1]s
table inet %[1]s {
	chain in { type filter hook input priority filter; policy accept; ip saddr { %[2]s } drop; }
	chain out { type filter hook output priority filter; policy accept; ip daddr { %[2]s } drop; }
}
`, nftPeersTable, strings.Join(set, ", "))
	if err := runCmd("ip", []byte(script), "netns", "exec", h.NS, "nft", "-f", "-"); err != nil {
		tb.Fatalf("harness: drop peers of %s: %v", h.Name, err)
	}
}

// UndropPeers removes DropPeers' rules. Idempotent.
func (h *Host) UndropPeers(tb testing.TB) {
	tb.Helper()
	script := fmt.Sprintf("add table inet %[1]s\ndelete table inet %[1]s\n", nftPeersTable)
	if err := runCmd("ip", []byte(script), "netns", "exec", h.NS, "nft", "-f", "-"); err != nil {
		tb.Fatalf("harness: undrop peers of %s: %v", h.Name, err)
	}
}

// PartitionGroups splits hosts so that two hosts talk iff some group holds
// both. Disjoint groups make a clean split ({a,b} {c,d,e}); overlapping
// groups make a bridge ({a,b,c} {c,d,e}: c talks to everyone). A host in
// no group is isolated from every other host. Heal with HealPartition.
func PartitionGroups(tb testing.TB, hosts []*Host, groups ...[]*Host) {
	tb.Helper()
	together := func(a, b *Host) bool {
		for _, g := range groups {
			ina, inb := false, false
			for _, h := range g {
				ina = ina || h == a
				inb = inb || h == b
			}
			if ina && inb {
				return true
			}
		}
		return false
	}
	for _, h := range hosts {
		var cut []netip.Addr
		for _, p := range hosts {
			if p != h && !together(h, p) {
				cut = append(cut, p.IP)
			}
		}
		h.DropPeers(tb, cut...)
	}
}

// HealPartition undoes PartitionGroups on every host.
func HealPartition(tb testing.TB, hosts []*Host) {
	tb.Helper()
	for _, h := range hosts {
		h.UndropPeers(tb)
	}
}

// HostMariaDB is a private mariadbd running inside a lab host's namespace,
// listening on 127.0.0.1:3306 there (what the host's oned connects to) and
// on a unix socket the test process reaches from any namespace.
type HostMariaDB struct {
	Host   *Host
	Dir    string
	Socket string
	ErrLog string

	m      *MariaDB // Dir layout, binaries and args
	proc   *exec.Cmd
	exited chan struct{}
}

// hostMariaDBPort is the port inside the host namespace.
const hostMariaDBPort = 3306

// StartHostMariaDB starts a mariadbd in h's namespace and waits until it
// answers; tb.Cleanup stops it and removes its Dir.
func StartHostMariaDB(tb testing.TB, h *Host) *HostMariaDB {
	tb.Helper()
	m, err := newMariaDB(requireBinaries(tb))
	if err != nil {
		tb.Fatalf("harness: mariadb on %s: %v", h.Name, err)
	}
	m.Port = hostMariaDBPort
	d := &HostMariaDB{Host: h, Dir: m.Dir, Socket: m.Socket, ErrLog: m.ErrLog, m: m}
	tb.Cleanup(func() {
		d.stop()
		_ = os.RemoveAll(d.Dir)
	})
	d.Start(tb)
	return d
}

// DSN is the go-sql-driver DSN of database db as the host itself sees the
// server (TCP 127.0.0.1:3306 in the host namespace): for oned's config.
func (d *HostMariaDB) DSN(db string) string {
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr, c.DBName = "root", "tcp", fmt.Sprintf("127.0.0.1:%d", hostMariaDBPort), db
	return c.FormatDSN()
}

// SocketDSN is the DSN of database db over the unix socket, usable from the
// test process's namespace.
func (d *HostMariaDB) SocketDSN(db string) string {
	c := mysql.NewConfig()
	c.User, c.Net, c.Addr, c.DBName = "root", "unix", d.Socket, db
	return c.FormatDSN()
}

// Start launches mariadbd (again, after Kill) and waits until it answers.
func (d *HostMariaDB) Start(tb testing.TB) {
	tb.Helper()
	if d.proc != nil {
		tb.Fatalf("harness: mariadb on %s already running", d.Host.Name)
	}
	if err := os.Truncate(d.ErrLog, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		tb.Fatal(err)
	}
	out, err := os.OpenFile(d.ErrLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		tb.Fatal(err)
	}
	defer out.Close()
	cmd := d.Host.Command(context.Background(), d.m.bins.server, d.m.args()...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("harness: mariadb on %s: %v", d.Host.Name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	d.proc, d.exited = cmd, exited
	db, err := sql.Open("mysql", d.SocketDSN(""))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		var one int
		err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-exited:
			d.proc = nil
			tb.Fatalf("harness: mariadb on %s exited at start:\n%s", d.Host.Name, tail(d.ErrLog, 30))
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("harness: mariadb on %s not ready: %v\n%s", d.Host.Name, err, tail(d.ErrLog, 30))
		}
		time.Sleep(pollInterval)
	}
}

// Kill sends SIGKILL to mariadbd and waits until it is gone (InnoDB
// recovers on the next Start).
func (d *HostMariaDB) Kill(tb testing.TB) {
	tb.Helper()
	if d.proc == nil {
		tb.Fatalf("harness: mariadb on %s not running", d.Host.Name)
	}
	_ = d.proc.Process.Kill()
	<-d.exited
	d.proc = nil
}

func (d *HostMariaDB) stop() {
	if d.proc == nil {
		return
	}
	_ = d.proc.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(shutdownTimeout):
		_ = d.proc.Process.Kill()
		<-d.exited
	}
	d.proc = nil
}

// UseHostMariaDBs gives every server of a lab zone made with Dialect MySQL
// its own mariadbd inside its host namespace (database "oneha") instead of
// a database on the shared instance. Call it after NewProcZone and before
// FormZone; it returns the instances in server order.
func (z *ProcZone) UseHostMariaDBs(tb testing.TB) []*HostMariaDB {
	tb.Helper()
	if z.opts.Lab == nil || z.opts.Dialect != sqlcheck.MySQL {
		tb.Fatal("harness: UseHostMariaDBs needs a lab zone with Dialect MySQL")
	}
	out := make([]*HostMariaDB, len(z.Servers))
	for i, o := range z.Servers {
		d := StartHostMariaDB(tb, o.Host)
		db, err := sql.Open("mysql", d.SocketDSN(""))
		if err != nil {
			tb.Fatal(err)
		}
		_, err = db.Exec("CREATE DATABASE oneha")
		db.Close()
		if err != nil {
			tb.Fatalf("harness: create database on %s: %v", o.Host.Name, err)
		}
		o.DSN = d.DSN("oneha")
		out[i] = d
	}
	return out
}
