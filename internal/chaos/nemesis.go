package chaos

import (
	"syscall"
	"time"

	"github.com/oneha/oneha/internal/harness"
)

// fault is one nemesis action: Inject breaks something and returns how to
// heal it. Needs (optional) says whether the zone supports it.
type fault struct {
	Name   string
	Needs  func(e *env) bool
	Inject func(e *env) (heal func())
}

// The fault catalogue.
var (
	faultNone = fault{Name: "none (baseline)", Inject: func(e *env) func() { return func() {} }}

	faultKillLeader = fault{Name: "SIGKILL leader", Inject: func(e *env) func() {
		l := e.leader()
		l.Kill()
		return func() { l.Start() }
	}}

	faultKillFollower = fault{Name: "SIGKILL follower", Inject: func(e *env) func() {
		f := e.follower()
		f.Kill()
		return func() { f.Start() }
	}}

	faultPauseLeader = fault{Name: "SIGSTOP/SIGCONT leader", Inject: func(e *env) func() {
		l := e.leader()
		l.Signal(syscall.SIGSTOP)
		return func() { l.Signal(syscall.SIGCONT) }
	}}

	faultPauseFollower = fault{Name: "SIGSTOP/SIGCONT follower", Inject: func(e *env) func() {
		f := e.follower()
		f.Signal(syscall.SIGSTOP)
		return func() { f.Signal(syscall.SIGCONT) }
	}}

	faultIsolateLeader = fault{Name: "partition: isolated leader", Inject: func(e *env) func() {
		l := e.leader()
		l.Host.Drop(e.t)
		return func() { l.Host.Undrop(e.t) }
	}}

	faultIsolateFollower = fault{Name: "partition: minority follower", Inject: func(e *env) func() {
		f := e.follower()
		f.Host.Drop(e.t)
		return func() { f.Host.Undrop(e.t) }
	}}

	// The leader (with one follower when there are 5 servers) ends up in
	// the minority; clients still reach both sides.
	faultSplit = fault{Name: "partition: majority/minority (leader in minority)", Inject: func(e *env) func() {
		l := e.leader()
		minority := []*harness.Host{l.Host}
		var majority []*harness.Host
		for _, o := range e.z.Servers {
			if o == l {
				continue
			}
			if len(minority) < (len(e.z.Servers)-1)/2 {
				minority = append(minority, o.Host)
			} else {
				majority = append(majority, o.Host)
			}
		}
		hosts := e.hosts()
		harness.PartitionGroups(e.t, hosts, minority, majority)
		return func() { harness.HealPartition(e.t, hosts) }
	}}

	// Jepsen's bridge: two halves that only a middle server connects; the
	// leader sits at one end.
	faultBridge = fault{Name: "partition: bridge", Inject: func(e *env) func() {
		l := e.leader()
		order := []*harness.Host{l.Host}
		for _, o := range e.z.Servers {
			if o != l {
				order = append(order, o.Host)
			}
		}
		mid := len(order) / 2
		hosts := e.hosts()
		harness.PartitionGroups(e.t, hosts, order[:mid+1], order[mid:])
		return func() { harness.HealPartition(e.t, hosts) }
	}}

	faultTransfer = fault{Name: "leadership transfer (SIGTERM leader)", Inject: func(e *env) func() {
		l := e.leader()
		start := time.Now()
		l.Stop()
		e.t.Logf("chaos: leader %d stopped cleanly in %v", l.ID, time.Since(start).Round(time.Millisecond))
		return func() { l.Start() }
	}}

	faultKillFollowerDB = fault{Name: "SIGKILL follower's mariadbd",
		Needs: func(e *env) bool { return e.dbs != nil },
		Inject: func(e *env) func() {
			f := e.follower()
			d := e.dbs[f.ID]
			d.Kill(e.t)
			return func() { d.Start(e.t) }
		}}
)

// shortFaults is the short suite's subset.
var shortFaults = []fault{faultNone, faultKillLeader, faultKillFollower, faultIsolateLeader, faultPauseLeader, faultTransfer}

// allFaults is the long suite's list.
var allFaults = []fault{faultNone, faultKillLeader, faultKillFollower, faultPauseLeader, faultPauseFollower,
	faultIsolateLeader, faultIsolateFollower, faultSplit, faultBridge, faultTransfer, faultKillFollowerDB}
