package lab_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/xmlrpc"
)

func TestMain(m *testing.M) { harness.Main(m) }

// labZone is a formed 3-server zone in a lab, plus the client's view.
type labZone struct {
	*harness.ProcZone
	vip    netip.Addr
	client string // root-namespace interface on the lab bridge
}

func newLabZone(t testing.TB, subnet string, vipLast byte, extra string, builtinVIP bool) *labZone {
	t.Helper()
	return formLabZone(t, subnet, vipLast, harness.ZoneOptions{Extra: extra}, builtinVIP)
}

// formLabZone is newLabZone with more of the zone's options (N and Lab are
// set here).
func formLabZone(t testing.TB, subnet string, vipLast byte, opts harness.ZoneOptions, builtinVIP bool) *labZone {
	t.Helper()
	lab := harness.NewLab(t, subnet)
	pfx := netip.MustParsePrefix(subnet)
	a := pfx.Addr().As4()
	a[3] = vipLast
	vip := netip.AddrFrom4(a)
	opts.N, opts.Lab = 3, lab
	if builtinVIP {
		opts.VIP = netip.PrefixFrom(vip, pfx.Bits()).String()
	}
	z := harness.NewProcZone(t, opts)
	client, _ := lab.AttachRoot(t)
	z.FormZone()
	return &labZone{ProcZone: z, vip: vip, client: client}
}

// holders lists the servers whose eth0 carries the VIP now.
func (z *labZone) holders(t testing.TB) []int {
	var out []int
	for _, o := range z.Servers {
		for _, a := range o.Host.Addrs(t) {
			if a.Addr() == z.vip {
				out = append(out, o.ID)
			}
		}
	}
	return out
}

// waitHolder waits until exactly server id holds the VIP.
func (z *labZone) waitHolder(t testing.TB, id int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		h := z.holders(t)
		if len(h) == 1 && h[0] == id {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("VIP holders %v, want only server %d", h, id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeViaVIP runs one write through the floating IP on a fresh connection.
func (z *labZone) writeViaVIP(ctx context.Context, q string) error {
	c := xmlrpc.NewClient(fmt.Sprintf("http://%s:2633/RPC2", z.vip), time.Second)
	c.HTTP = &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	_, err := c.CallONE(ctx, "one.sql.exec", z.Session, []any{q})
	return err
}

func (z *labZone) waitWrite(t testing.TB, q string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := z.writeViaVIP(ctx, q)
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			for _, o := range z.Servers {
				out, _ := o.Host.Command(context.Background(), "ip", "-o", "addr", "show", "dev", "eth0").CombinedOutput()
				t.Logf("server %d (%s):\n%s", o.ID, o.Host.MAC, out)
			}
			out, _ := exec.Command("ip", "neigh", "show", "dev", z.client).CombinedOutput()
			t.Logf("client neighbours:\n%s", out)
			t.Fatalf("write through the VIP: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestVIPFollowsLeader: the VIP sits on the leader only; after SIGKILL of
// the leader (and systemd's ExecStopPost `oned vip release`) it moves to the
// new leader, the client's neighbour entry flips to the new leader's MAC
// thanks to the gratuitous ARP, and writes through the VIP resume. The old
// leader, restarted, rejoins as a follower and does not take the VIP.
func TestVIPFollowsLeader(t *testing.T) {
	z := newLabZone(t, "198.18.21.0/24", 100, "", true)
	leader := z.Leader(20 * time.Second)
	z.waitHolder(t, leader.ID, 10*time.Second)
	z.waitWrite(t, "CREATE TABLE vm (id INT PRIMARY KEY)", 10*time.Second)
	if mac, ok := harness.RootNeighbor(t, z.client, z.vip); !ok || !bytes.Equal(mac, leader.Host.MAC) {
		t.Fatalf("client resolves the VIP to %v, want the leader's %v", mac, leader.Host.MAC)
	}

	leader.Kill()
	leader.Killed()
	next := z.Leader(20 * time.Second)
	z.waitHolder(t, next.ID, 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mac, ok := harness.RootNeighbor(t, z.client, z.vip)
		if ok && bytes.Equal(mac, next.Host.MAC) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("client still resolves the VIP to %v, want the new leader's %v", mac, next.Host.MAC)
		}
		time.Sleep(20 * time.Millisecond)
	}
	z.waitWrite(t, "INSERT INTO vm VALUES (1)", 10*time.Second)

	leader.Start()
	leader.WaitState(2, 20*time.Second)
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if h := z.holders(t); len(h) != 1 || h[0] != next.ID {
			t.Fatalf("after the old leader restarted, VIP holders are %v, want only %d", h, next.ID)
		}
	}
}

// TestLeaderTransferMovesVIP: a planned switchover (one.zone.leadertransfer,
// what `onezone leader-transfer` sends) moves the VIP to the chosen server
// without a restart, the old leader gives it up, and writes through the VIP
// go on.
func TestLeaderTransferMovesVIP(t *testing.T) {
	z := newLabZone(t, "198.18.25.0/24", 100, "", true)
	leader := z.Leader(20 * time.Second)
	z.waitHolder(t, leader.ID, 10*time.Second)
	z.waitWrite(t, "CREATE TABLE vm (id INT PRIMARY KEY)", 10*time.Second)
	target := z.Servers[(leader.ID+1)%len(z.Servers)]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := leader.Call(ctx, "one.zone.leadertransfer", 0, target.ID); err != nil {
		t.Fatalf("leadertransfer to %d: %v", target.ID, err)
	}
	z.waitHolder(t, target.ID, 10*time.Second)
	if !leader.Running() || leader.RaftState() != 2 {
		t.Fatalf("old leader: running %v, state %d; want a running follower", leader.Running(), leader.RaftState())
	}
	z.waitWrite(t, "INSERT INTO vm VALUES (1)", 10*time.Second)
}

// TestGracefulStopHandsOverVIP: SIGTERM of the leader (systemctl stop)
// hands leadership and the VIP to another server before the process ends,
// and writes through the VIP go on.
func TestGracefulStopHandsOverVIP(t *testing.T) {
	z := newLabZone(t, "198.18.27.0/24", 100, "", true)
	leader := z.Leader(20 * time.Second)
	z.waitHolder(t, leader.ID, 10*time.Second)
	z.waitWrite(t, "CREATE TABLE vm (id INT PRIMARY KEY)", 10*time.Second)
	leader.Stop()
	if !strings.Contains(leader.LogTail(200), "handover before stop done") {
		t.Fatalf("the leader stopped without a handover:\n%s", leader.LogTail(40))
	}
	next := z.Leader(10 * time.Second)
	z.waitHolder(t, next.ID, 5*time.Second)
	z.waitWrite(t, "INSERT INTO vm VALUES (1)", 10*time.Second)
}

// TestIsolatedLeaderDropsVIP cuts the leader off (nftables drops all its
// traffic): it loses its lease, steps down and releases the VIP; the
// majority elects a new leader, which alone holds it.
func TestIsolatedLeaderDropsVIP(t *testing.T) {
	z := newLabZone(t, "198.18.22.0/24", 100, "", true)
	leader := z.Leader(20 * time.Second)
	z.waitHolder(t, leader.ID, 10*time.Second)
	leader.Host.Drop(t)
	start := time.Now()
	for {
		h := z.holders(t)
		held := false
		for _, id := range h {
			held = held || id == leader.ID
		}
		if !held {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("isolated leader still holds the VIP after %v", time.Since(start))
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("isolated leader released the VIP %v after being cut off", time.Since(start).Round(time.Millisecond))
	deadline := time.Now().Add(20 * time.Second)
	for {
		h := z.holders(t)
		if len(h) == 1 && h[0] != leader.ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("VIP holders %v after isolating leader %d", h, leader.ID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	z.waitWrite(t, "CREATE TABLE after_partition (id INT)", 10*time.Second)
	leader.Host.Undrop(t)
	leader.WaitState(2, 20*time.Second)
}

// TestExternalHooks drives the floating IP with OpenNebula-style
// RAFT_LEADER_HOOK / RAFT_FOLLOWER_HOOK commands (deploy/hooks/vip.sh)
// instead of the built-in VIP.
func TestExternalHooks(t *testing.T) {
	script, err := filepath.Abs("../hooks/vip.sh")
	if err != nil {
		t.Fatal(err)
	}
	vip := "198.18.23.100/24"
	extra := fmt.Sprintf("RAFT_LEADER_HOOK: {COMMAND: %s, ARGUMENTS: leader eth0 %s}\nRAFT_FOLLOWER_HOOK: {COMMAND: %s, ARGUMENTS: follower eth0 %s}\n", script, vip, script, vip)
	z := newLabZone(t, "198.18.23.0/24", 100, extra, false)
	leader := z.Leader(20 * time.Second)
	z.waitHolder(t, leader.ID, 10*time.Second)
	z.waitWrite(t, "CREATE TABLE t (id INT)", 10*time.Second)
	// A clean stop runs the follower hook: the script removes the address.
	leader.Stop()
	next := z.Leader(20 * time.Second)
	z.waitHolder(t, next.ID, 10*time.Second)
	z.waitWrite(t, "INSERT INTO t VALUES (1)", 10*time.Second)
}
