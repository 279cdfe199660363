package raftlog

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestMembership(t *testing.T) {
	c := MakeCluster(t, clusterOpts{n: 3, noBootstrap: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.nodes[0].Bootstrap(ctx, c.Servers()[:1]); err != nil {
		t.Fatalf("solo bootstrap: %v", err)
	}
	if li := c.WaitReadyLeader(5 * time.Second); li != 0 {
		t.Fatalf("leader %d, want 0", li)
	}
	mustApply(t, c.nodes[0], "solo")
	leader := c.nodes[0]
	steps := []struct {
		name string
		do   func() error
		want map[string]raft.ServerSuffrage // expected configuration
	}{
		{"add nonvoter 1", func() error { return leader.AddNonvoter(ctx, "1", string(c.addrs[1])) },
			map[string]raft.ServerSuffrage{"0": raft.Voter, "1": raft.Nonvoter}},
		{"promote 1", func() error { return leader.AddVoter(ctx, "1", string(c.addrs[1])) },
			map[string]raft.ServerSuffrage{"0": raft.Voter, "1": raft.Voter}},
		{"add voter 2", func() error { return leader.AddVoter(ctx, "2", string(c.addrs[2])) },
			map[string]raft.ServerSuffrage{"0": raft.Voter, "1": raft.Voter, "2": raft.Voter}},
		{"remove 2", func() error { return leader.RemoveServer(ctx, "2") },
			map[string]raft.ServerSuffrage{"0": raft.Voter, "1": raft.Voter}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		servers, err := leader.Configuration(ctx)
		if err != nil {
			t.Fatalf("%s: configuration: %v", st.name, err)
		}
		got := map[string]raft.ServerSuffrage{}
		for _, s := range servers {
			got[string(s.ID)] = s.Suffrage
		}
		if len(got) != len(st.want) {
			t.Fatalf("%s: configuration %v, want %v", st.name, got, st.want)
		}
		for id, suf := range st.want {
			if got[id] != suf {
				t.Fatalf("%s: configuration %v, want %v", st.name, got, st.want)
			}
		}
	}
	// Node 1 joined without bootstrapping and caught up from the log.
	for deadline := time.Now().Add(5 * time.Second); c.fsms[1].AppliedIndex() < c.fsms[0].AppliedIndex(); {
		if time.Now().After(deadline) {
			t.Fatalf("node 1 applied %d, leader %d", c.fsms[1].AppliedIndex(), c.fsms[0].AppliedIndex())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := c.fsms[1].Entries(); !slices.Equal(got, []string{"solo"}) {
		t.Fatalf("joined node entries %v", got)
	}
	// Membership changes on a follower name the leader.
	if err := c.nodes[1].AddVoter(ctx, "9", "nowhere"); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("follower AddVoter: %v, want ErrNotLeader", err)
	}
}

func TestPartitionedLeaderStepsDown(t *testing.T) {
	c := MakeCluster(t, clusterOpts{n: 3})
	li := c.WaitReadyLeader(5 * time.Second)
	old := c.nodes[li]
	mustApply(t, old, "a")
	c.Disconnect(li)
	start := time.Now()
	// Lease: the cut-off leader stops serving default reads on its own.
	for old.State() == raft.Leader {
		if time.Since(start) > 10*testET {
			t.Fatalf("partitioned leader still leader after %v", time.Since(start))
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("partitioned leader stepped down after %v (lease %v)", time.Since(start), testET*3/4)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := old.LeaseRead(ctx); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("LeaseRead on deposed leader = %v, want ErrNotLeader", err)
	}
	// The majority side elects a new leader and keeps writing.
	var ni int
	deadline := time.Now().Add(5 * time.Second)
	for {
		ni = -1
		for i, n := range c.nodes {
			if i != li && n.State() == raft.Leader {
				ni = i
			}
		}
		if ni >= 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if ni < 0 {
		t.Fatal("majority elected no leader")
	}
	ctxReady, cancelReady := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelReady()
	if err := c.nodes[ni].WaitReady(ctxReady); err != nil {
		t.Fatal(err)
	}
	mustApply(t, c.nodes[ni], "b")
	c.Reconnect(li)
	c.WaitApplied(c.fsms[ni].AppliedIndex(), 5*time.Second)
	if got := c.fsms[li].Entries(); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("healed node entries %v", got)
	}
}

func TestRecoverAfterMajorityLoss(t *testing.T) {
	tests := []struct {
		name     string
		snapshot bool
		wipeDB   bool
	}{
		{"log only", false, false},
		{"snapshot, db ahead", true, false},
		{"snapshot, db wiped", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := MakeCluster(t, clusterOpts{n: 3})
			li := c.WaitReadyLeader(5 * time.Second)
			want := []string{"a", "b", "c"}
			for _, d := range want {
				mustApply(t, c.nodes[li], d)
			}
			c.WaitApplied(c.fsms[li].AppliedIndex(), 5*time.Second)
			s := (li + 1) % 3 // the survivor
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if tt.snapshot {
				if err := c.nodes[s].Snapshot(ctx); err != nil {
					t.Fatal(err)
				}
			}
			for i := range c.nodes {
				if i != s {
					c.Crash(i)
				}
			}
			c.Crash(s)
			fsm := c.fsms[s]
			if tt.wipeDB {
				fsm = newTestFSM()
			}
			before, err := ReadOffline(ctx, c.cfgs[s])
			if err != nil || !before.HasState || len(before.Servers) != 3 || before.LastIndex < c.fsms[s].AppliedIndex() {
				t.Fatalf("offline read before recovery: %+v, %v; want 3 servers up to index %d", before, err, c.fsms[s].AppliedIndex())
			}
			servers := []raft.Server{{Suffrage: raft.Voter, ID: raft.ServerID(c.cfgs[s].ID), Address: c.addrs[s]}}
			if err := Recover(ctx, c.cfgs[s], fsm, servers); err != nil {
				t.Fatalf("recover: %v", err)
			}
			if after, err := ReadOffline(ctx, c.cfgs[s]); err != nil || !slices.Equal(after.Servers, servers) {
				t.Fatalf("offline read after recovery: %+v, %v; want %v", after, err, servers)
			}
			c.Restart(s, fsm)
			if got := c.WaitReadyLeader(5 * time.Second); got != s {
				t.Fatalf("leader %d, want survivor %d", got, s)
			}
			want = append(want, "d")
			mustApply(t, c.nodes[s], "d")
			if got := fsm.Entries(); !slices.Equal(got, want) {
				t.Fatalf("entries %v, want %v", got, want)
			}
			if fsm.dup != 0 {
				t.Fatalf("%d duplicate applies", fsm.dup)
			}
			wantRestores := int32(0)
			if tt.wipeDB {
				wantRestores = 1 // by Recover; the restart then skips
			}
			if got := fsm.restores.Load(); got != wantRestores {
				t.Fatalf("restores = %d, want %d", got, wantRestores)
			}
		})
	}
}
