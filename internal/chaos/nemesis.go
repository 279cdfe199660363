package chaos

import (
	"context"
	"fmt"
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

	// Every process of the zone dies at once, as in a power loss of the
	// whole zone: SIGKILL to every oned (and every mariadbd) before any is
	// reaped; then the databases and the servers start again.
	faultKillAll = fault{Name: "SIGKILL every server at once (zone power loss)", Inject: func(e *env) func() {
		for _, o := range e.z.Servers {
			o.Signal(syscall.SIGKILL)
		}
		for _, d := range e.dbs {
			d.Kill(e.t)
		}
		for _, o := range e.z.Servers {
			o.Kill() // reaps the process the signal above ended
		}
		return func() {
			for _, d := range e.dbs {
				d.Start(e.t)
			}
			for _, o := range e.z.Servers {
				o.Start()
			}
		}
	}}

	// Planned switchovers (onezone leader-transfer) every 1.5 s during the
	// hold, each to the next server in turn; no process stops.
	faultTransfer = fault{Name: "leadership transfers (onezone leader-transfer)", Inject: func(e *env) func() {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			ok, failed := 0, 0
			defer func() { e.t.Logf("chaos: %d leadership transfers, %d refused or failed", ok, failed) }()
			for {
				if l := e.currentLeader(); l != nil {
					target := e.z.Servers[(l.ID+1)%len(e.z.Servers)]
					cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
					_, err := l.Call(cctx, "one.zone.leadertransfer", 0, target.ID)
					ccancel()
					if err == nil {
						ok++
					} else if ctx.Err() == nil {
						failed++
						e.t.Logf("chaos: leader transfer %d -> %d: %v", l.ID, target.ID, err)
					}
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(1500 * time.Millisecond):
				}
			}
		}()
		return func() { cancel(); <-done }
	}}

	faultStopLeader = fault{Name: "SIGTERM leader (graceful stop, hands leadership over)", Inject: func(e *env) func() {
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
			// Prove the fault bit: the follower must report its database
			// degraded while writes flow, then catch up once it is back.
			ctx, cancel := context.WithCancel(context.Background())
			seen := make(chan string, 1)
			var last string // the last answer that was not degraded, for the failure message
			go func() {
				defer close(seen)
				for ctx.Err() == nil {
					rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
					h, err := f.Health(rctx)
					rcancel()
					if err == nil && h.Degraded != "" {
						seen <- h.Degraded
						return
					}
					last = fmt.Sprintf("applied index %d, error %v", h.AppliedIndex, err)
					time.Sleep(100 * time.Millisecond)
				}
			}()
			return func() {
				cancel()
				why, ok := <-seen
				if !ok {
					e.t.Errorf("chaos: server %d never reported its database degraded while its mariadbd was down "+
						"(last /status: %s); its last log lines:\n%s", f.ID, last, f.LogTail(30))
				} else {
					e.t.Logf("chaos: server %d reported degraded: %s", f.ID, why)
				}
				d.Start(e.t)
				e.waitCaughtUp(f, 60*time.Second)
			}
		}}
)

// shortFaults is the short suite's subset.
var shortFaults = []fault{faultNone, faultKillLeader, faultKillFollower, faultIsolateLeader, faultPauseLeader, faultTransfer, faultStopLeader}

// allFaults is the long suite's list.
var allFaults = []fault{faultNone, faultKillLeader, faultKillFollower, faultPauseLeader, faultPauseFollower,
	faultIsolateLeader, faultIsolateFollower, faultSplit, faultBridge, faultTransfer, faultStopLeader, faultKillFollowerDB, faultKillAll}
