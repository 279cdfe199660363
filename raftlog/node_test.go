package raftlog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestClusterReplicates(t *testing.T) {
	tests := []struct {
		name     string
		tcp      bool
		logStore string
	}{
		{"inmem/wal", false, LogStoreWAL},
		{"inmem/boltdb", false, LogStoreBoltDB},
		{"tcp/wal", true, LogStoreWAL},
		{"tcp/boltdb", true, LogStoreBoltDB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := MakeCluster(t, clusterOpts{n: 3, tcp: tt.tcp, logStore: tt.logStore})
			li := c.WaitReadyLeader(5 * time.Second)
			leader := c.nodes[li]
			var want []string
			for k := 0; k < 10; k++ {
				data := fmt.Sprintf("e%d", k)
				want = append(want, data)
				if resp := mustApply(t, leader, data); resp != k+1 {
					t.Fatalf("response for %s = %v, want %d (FSM's answer)", data, resp, k+1)
				}
			}
			c.WaitApplied(c.fsms[li].AppliedIndex(), 5*time.Second)
			for i, f := range c.fsms {
				if got := f.Entries(); !slices.Equal(got, want) {
					t.Errorf("node %d entries %v, want %v", i, got, want)
				}
			}
			// Follower Apply: NotLeaderError naming the leader.
			fi := (li + 1) % 3
			_, err := c.nodes[fi].Apply(context.Background(), []byte("x"))
			var nle *NotLeaderError
			if !errors.Is(err, ErrNotLeader) || !errors.As(err, &nle) {
				t.Fatalf("follower apply err = %v, want *NotLeaderError", err)
			}
			if nle.LeaderID != c.cfgs[li].ID || nle.LeaderAddr != string(c.addrs[li]) {
				t.Fatalf("NotLeaderError leader = %q/%q, want %q/%q", nle.LeaderID, nle.LeaderAddr, c.cfgs[li].ID, c.addrs[li])
			}
		})
	}
}

func TestLeaderCrashFailover(t *testing.T) {
	c := MakeCluster(t, clusterOpts{n: 3})
	li := c.WaitReadyLeader(5 * time.Second)
	mustApply(t, c.nodes[li], "before")
	start := time.Now()
	c.Crash(li)
	ni := c.WaitForLeader(10 * testET * 5)
	took := time.Since(start)
	if ni == li {
		t.Fatal("crashed node is still leader")
	}
	// Detection ET..2ET, pre-vote + vote round ~ET..2ET: allow 6 ET.
	if took > 6*testET {
		t.Errorf("failover took %v, want < %v", took, 6*testET)
	}
	t.Logf("failover in %v (ET %v)", took, testET)
	ni = c.WaitReadyLeader(5 * time.Second)
	mustApply(t, c.nodes[ni], "after")
	if got := c.fsms[ni].Entries(); !slices.Equal(got, []string{"before", "after"}) {
		t.Fatalf("entries %v", got)
	}
}

func TestShutdownTransfersLeadership(t *testing.T) {
	c := MakeCluster(t, clusterOpts{n: 3})
	li := c.WaitReadyLeader(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := c.nodes[li].Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	c.setDead(li, true)
	// The transfer completed inside Shutdown: a new leader exists without
	// waiting for an election timeout.
	ni := c.WaitForLeader(testET)
	t.Logf("shutdown with transfer took %v, new leader %d", time.Since(start), ni)
	if err := c.nodes[li].Shutdown(ctx); err != nil {
		t.Fatalf("second shutdown (idempotent): %v", err)
	}
	if _, err := c.nodes[li].Apply(ctx, []byte("x")); !errors.Is(err, ErrShutdown) {
		t.Fatalf("apply after shutdown: %v, want ErrShutdown", err)
	}
}

func TestWaitReadyBlocksUntilBarrier(t *testing.T) {
	c := MakeCluster(t, clusterOpts{n: 3})
	li := c.WaitReadyLeader(5 * time.Second)
	mustApply(t, c.nodes[li], "a")
	c.WaitApplied(c.fsms[li].AppliedIndex(), 5*time.Second)

	// Stall the FSM of a follower, commit more entries (its log gets them,
	// its DB does not), then make it leader: it must not be ready.
	ti := (li + 1) % 3
	release := c.fsms[ti].block()
	defer release()
	mustApply(t, c.nodes[li], "b")
	mustApply(t, c.nodes[li], "c")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	f := c.nodes[li].Raft().LeadershipTransferToServer(raft.ServerID(c.cfgs[ti].ID), c.addrs[ti])
	if err := waitFuture(ctx, nil, f); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	if c.WaitForLeader(5*time.Second) != ti {
		t.Fatalf("leader is not %d", ti)
	}
	tests := []struct {
		name string
		call func(context.Context) error
	}{
		{"WaitReady", c.nodes[ti].WaitReady},
		{"LeaseRead", c.nodes[ti].LeaseRead},
		{"ReadIndex", c.nodes[ti].ReadIndex},
	}
	for _, tt := range tests {
		short, cancel := context.WithTimeout(context.Background(), 3*testET)
		err := tt.call(short)
		cancel()
		if !errors.Is(err, ErrNotReady) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("%s on unready leader = %v, want ErrNotReady+DeadlineExceeded", tt.name, err)
		}
	}
	if st, _ := c.nodes[ti].Stats(ctx); st.Ready || st.State != raft.Leader {
		t.Fatalf("stats: ready=%v state=%v, want leader not ready", st.Ready, st.State)
	}
	done := make(chan error, 1)
	go func() { done <- c.nodes[ti].WaitReady(ctx) }()
	time.Sleep(testET)
	select {
	case err := <-done:
		t.Fatalf("WaitReady returned %v before the barrier", err)
	default:
	}
	release()
	if err := <-done; err != nil {
		t.Fatalf("WaitReady after release: %v", err)
	}
	if got := c.fsms[ti].Entries(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("ready leader entries %v, want a b c", got)
	}
}

func TestReadIndexWaitsUntilApplied(t *testing.T) {
	c := MakeCluster(t, clusterOpts{n: 3})
	li := c.WaitReadyLeader(5 * time.Second)
	leader := c.nodes[li]
	mustApply(t, leader, "a")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := leader.ReadIndex(ctx); err != nil {
		t.Fatalf("ReadIndex idle: %v", err)
	}

	// Follower reads are refused with the leader's identity (once the
	// follower has heard from the leader: the entry may have committed
	// without it).
	fi := (li + 1) % 3
	for _, id := c.nodes[fi].Raft().LeaderWithID(); string(id) != c.cfgs[li].ID; _, id = c.nodes[fi].Raft().LeaderWithID() {
		if ctx.Err() != nil {
			t.Fatalf("follower %d never learned the leader", fi)
		}
		time.Sleep(5 * time.Millisecond)
	}
	for name, call := range map[string]func(context.Context) error{
		"ReadIndex": c.nodes[fi].ReadIndex, "LeaseRead": c.nodes[fi].LeaseRead, "WaitReady": c.nodes[fi].WaitReady,
	} {
		var nle *NotLeaderError
		if err := call(ctx); !errors.As(err, &nle) || nle.LeaderID != c.cfgs[li].ID {
			t.Fatalf("follower %s = %v, want NotLeaderError(leader %s)", name, err, c.cfgs[li].ID)
		}
	}

	release := c.fsms[li].block()
	defer release()
	before := leader.Raft().CommitIndex()
	applyDone := make(chan error, 1)
	go func() {
		_, err := leader.Apply(ctx, []byte("b"))
		applyDone <- err
	}()
	for leader.Raft().CommitIndex() <= before {
		time.Sleep(time.Millisecond)
	}
	committed := leader.Raft().CommitIndex()
	readDone := make(chan error, 1)
	go func() { readDone <- leader.ReadIndex(ctx) }()
	select {
	case err := <-readDone:
		t.Fatalf("ReadIndex returned %v while entry %d is committed but not applied", err, committed)
	case <-time.After(2 * testET):
	}
	release()
	if err := <-readDone; err != nil {
		t.Fatalf("ReadIndex: %v", err)
	}
	if got := c.fsms[li].AppliedIndex(); got < committed {
		t.Fatalf("ReadIndex returned with applied %d < committed %d", got, committed)
	}
	if err := <-applyDone; err != nil {
		t.Fatalf("apply: %v", err)
	}
}

func TestApplyErrors(t *testing.T) {
	c := MakeCluster(t, clusterOpts{n: 1})
	li := c.WaitReadyLeader(5 * time.Second)
	n := c.nodes[li]

	t.Run("deadline while waiting is unknown outcome", func(t *testing.T) {
		release := c.fsms[li].block()
		defer release()
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := n.Apply(ctx, []byte("slow"))
		if !errors.Is(err, ErrUnknownOutcome) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want ErrUnknownOutcome wrapping DeadlineExceeded", err)
		}
	})

	mapping := []struct {
		raftErr error
		want    []error
		notWant error
	}{
		{raft.ErrLeadershipLost, []error{ErrUnknownOutcome, raft.ErrLeadershipLost}, ErrNotLeader},
		{raft.ErrAbortedByRestore, []error{ErrUnknownOutcome}, nil},
		{raft.ErrRaftShutdown, []error{ErrUnknownOutcome, ErrShutdown}, nil},
		{raft.ErrNotLeader, []error{ErrNotLeader, raft.ErrNotLeader}, ErrUnknownOutcome},
		{raft.ErrLeadershipTransferInProgress, []error{ErrNotLeader}, ErrUnknownOutcome},
		{raft.ErrEnqueueTimeout, []error{context.DeadlineExceeded}, ErrUnknownOutcome},
	}
	for _, m := range mapping {
		t.Run(m.raftErr.Error(), func(t *testing.T) {
			err := n.applyErr(m.raftErr)
			for _, w := range m.want {
				if !errors.Is(err, w) {
					t.Errorf("applyErr(%v) = %v, not Is %v", m.raftErr, err, w)
				}
			}
			if m.notWant != nil && errors.Is(err, m.notWant) {
				t.Errorf("applyErr(%v) = %v, must not be %v", m.raftErr, err, m.notWant)
			}
		})
	}
}

func TestBootstrapRefusals(t *testing.T) {
	guardErr := errors.New("zone table lists servers 1, 2")
	tests := []struct {
		name    string
		prepare func(t *testing.T, c *testCluster) // before the checked Bootstrap
		servers func(c *testCluster) []raft.Server
		wantIs  []error
	}{
		{name: "fresh bootstraps", wantIs: nil},
		{
			name: "existing raft state",
			prepare: func(t *testing.T, c *testCluster) {
				if err := c.nodes[0].Bootstrap(context.Background(), c.Servers()); err != nil {
					t.Fatal(err)
				}
				c.WaitReadyLeader(5 * time.Second)
			},
			wantIs: []error{ErrExistingState},
		},
		{
			name:    "fsm applied index > 0 (DB from an existing zone)",
			prepare: func(t *testing.T, c *testCluster) { c.fsms[0].applied = 42 },
			wantIs:  []error{ErrZoneExists},
		},
		{
			name: "guard refuses",
			prepare: func(t *testing.T, c *testCluster) {
				c.nodes[0].cfg.BootstrapGuard = func(context.Context) error { return guardErr }
			},
			wantIs: []error{ErrBootstrapRefused, guardErr},
		},
		{
			name: "servers without self",
			servers: func(c *testCluster) []raft.Server {
				return []raft.Server{{Suffrage: raft.Voter, ID: "9", Address: "x"}}
			},
			wantIs: []error{errAny},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := MakeCluster(t, clusterOpts{n: 1, noBootstrap: true})
			if tt.prepare != nil {
				tt.prepare(t, c)
			}
			servers := c.Servers()
			if tt.servers != nil {
				servers = tt.servers(c)
			}
			err := c.nodes[0].Bootstrap(context.Background(), servers)
			if tt.wantIs == nil {
				if err != nil {
					t.Fatalf("bootstrap: %v", err)
				}
				c.WaitReadyLeader(5 * time.Second)
				return
			}
			for _, w := range tt.wantIs {
				if w == errAny && err != nil {
					continue
				}
				if !errors.Is(err, w) {
					t.Fatalf("bootstrap err = %v, want Is %v", err, w)
				}
			}
			if tt.name != "existing raft state" && c.nodes[0].State() == raft.Leader {
				t.Fatal("refused bootstrap still produced a leader")
			}
		})
	}
}

var errAny = errors.New("any error")

func TestRestartPersistentFSM(t *testing.T) {
	tests := []struct {
		name         string
		wipeDB       bool
		noopTail     bool // snapshot taken when trailing no-op/barrier entries follow the last command
		wantRestores int32
	}{
		{name: "fsm ahead of snapshot skips restore", wantRestores: 0},
		{name: "fsm equal to snapshot applied index, no-op tail, skips restore", noopTail: true, wantRestores: 0},
		{name: "wiped fsm restores snapshot", wipeDB: true, wantRestores: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := MakeCluster(t, clusterOpts{n: 1})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c.WaitReadyLeader(5 * time.Second)
			var want []string
			apply := func(k int) {
				d := fmt.Sprintf("e%d", k)
				want = append(want, d)
				mustApply(t, c.nodes[0], d)
			}
			for k := 0; k < 20; k++ {
				apply(k)
			}
			if tt.noopTail {
				// Restart: the new term's no-op + barrier follow the last command.
				c.Crash(0)
				c.Restart(0, c.fsms[0])
				c.WaitReadyLeader(5 * time.Second)
			}
			if err := c.nodes[0].Snapshot(ctx); err != nil {
				t.Fatalf("snapshot: %v", err)
			}
			if tt.noopTail {
				metas, _ := c.nodes[0].st.snaps.List()
				if metas[0].Index <= c.fsms[0].AppliedIndex() {
					t.Fatalf("setup: snapshot index %d not above fsm applied %d", metas[0].Index, c.fsms[0].AppliedIndex())
				}
			} else {
				for k := 20; k < 25; k++ {
					apply(k)
				}
			}
			old := c.fsms[0]
			c.Crash(0)
			fsm := old
			if tt.wipeDB {
				fsm = newTestFSM()
			}
			c.Restart(0, fsm)
			c.WaitReadyLeader(5 * time.Second)
			if got := fsm.restores.Load(); got != tt.wantRestores {
				t.Fatalf("restores = %d, want %d", got, tt.wantRestores)
			}
			if got := fsm.Entries(); !slices.Equal(got, want) {
				t.Fatalf("entries after restart = %v, want %v", got, want)
			}
			if fsm.dup != 0 {
				t.Fatalf("%d entries applied twice", fsm.dup)
			}
			apply(99)
			if got := fsm.Entries(); !slices.Equal(got, want) {
				t.Fatalf("entries after new apply = %v, want %v", got, want)
			}
		})
	}
}

func TestSubscribeTransitions(t *testing.T) {
	c := MakeCluster(t, clusterOpts{n: 3})
	li := c.WaitReadyLeader(5 * time.Second)
	leader := c.nodes[li]
	ch, cancel := leader.Subscribe()
	defer cancel()

	first := <-ch
	if first.State != raft.Leader || first.Leader != c.cfgs[li].ID {
		t.Fatalf("first transition %+v, want current state leader %s", first, c.cfgs[li].ID)
	}
	ctx, cancelCtx := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelCtx()
	if err := leader.LeadershipTransfer(ctx); err != nil {
		t.Fatalf("transfer: %v", err)
	}
	ni := c.WaitForLeader(5 * time.Second)
	// Wait until the old leader knows the new one, then shut it down.
	for {
		if id, _ := leader.Leader(); id == c.cfgs[ni].ID {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := leader.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	c.setDead(li, true)

	var got []Transition
	for tr := range ch { // closed after the final (Shutdown) transition
		got = append(got, tr)
	}
	t.Logf("transitions: %+v", got)
	sawFollowerWithNewLeader := false
	for _, tr := range got {
		if tr.State == raft.Follower && tr.Leader == c.cfgs[ni].ID {
			sawFollowerWithNewLeader = true
		}
		if tr.State == raft.Leader && sawFollowerWithNewLeader {
			t.Fatalf("leader transition after follower: out of order: %+v", got)
		}
	}
	if !sawFollowerWithNewLeader {
		t.Fatalf("no follower transition naming new leader %s: %+v", c.cfgs[ni].ID, got)
	}
	if last := got[len(got)-1]; last.State != raft.Shutdown {
		t.Fatalf("last transition %+v, want Shutdown", last)
	}
	for k := 1; k < len(got); k++ {
		if got[k].Term < got[k-1].Term {
			t.Fatalf("terms go backwards: %+v", got)
		}
	}
}

func TestSubscriberKeepsLatest(t *testing.T) {
	tests := []struct {
		name   string
		pushes int
		want   int
	}{
		{"below backlog", 10, 10},
		{"at backlog", subscriberQueueMax, subscriberQueueMax},
		{"overflow drops oldest", subscriberQueueMax + 50, subscriberQueueMax},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &subscriber{out: make(chan Transition), wake: make(chan struct{}, 1), stop: make(chan struct{}), log: testLogger()}
			for k := 1; k <= tt.pushes; k++ {
				s.push(Transition{State: raft.Follower, Term: uint64(k)})
			}
			s.finish()
			go s.forward()
			var got []Transition
			for tr := range s.out {
				got = append(got, tr)
			}
			if len(got) != tt.want {
				t.Fatalf("got %d transitions, want %d", len(got), tt.want)
			}
			if last := got[len(got)-1].Term; last != uint64(tt.pushes) {
				t.Fatalf("last term %d, want %d (latest never dropped)", last, tt.pushes)
			}
			for k := 1; k < len(got); k++ {
				if got[k].Term != got[k-1].Term+1 {
					t.Fatalf("out of order at %d: %v then %v", k, got[k-1].Term, got[k].Term)
				}
			}
		})
	}
}

func TestDegradedLeaderGivesUpLeadership(t *testing.T) {
	c := MakeCluster(t, clusterOpts{n: 3})
	li := c.WaitReadyLeader(5 * time.Second)
	start := time.Now()
	c.fsms[li].setDegraded(errors.New("mysql: connection refused"))
	deadline := time.Now().Add(20 * testET)
	for c.nodes[li].State() == raft.Leader {
		if time.Now().After(deadline) {
			t.Fatalf("degraded leader still leader after %v", time.Since(start))
		}
		time.Sleep(5 * time.Millisecond)
	}
	ni := c.WaitForLeader(5 * time.Second)
	if ni == li {
		t.Fatal("degraded node leader again")
	}
	t.Logf("leadership left degraded node after %v (ET %v)", time.Since(start), testET)
	if took := time.Since(start); took < testET {
		t.Fatalf("transfer after %v: must wait about one election timeout first", took)
	}
}

func TestStats(t *testing.T) {
	c := MakeCluster(t, clusterOpts{n: 3})
	li := c.WaitReadyLeader(5 * time.Second)
	mustApply(t, c.nodes[li], "a")
	c.WaitApplied(c.fsms[li].AppliedIndex(), 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for i, n := range c.nodes {
		st, err := n.Stats(ctx)
		if err != nil {
			t.Fatalf("stats %d: %v", i, err)
		}
		if st.ID != c.cfgs[i].ID || !st.Voter || st.LeaderID != c.cfgs[li].ID || st.Term == 0 {
			t.Errorf("node %d stats %+v", i, st)
		}
		if st.LastLogIndex < st.CommitIndex || st.LastLogTerm != st.Term && st.LastLogTerm == 0 {
			t.Errorf("node %d log index/term %+v", i, st)
		}
		if i == li && (st.VotedFor != st.ID || !st.Ready || st.State != raft.Leader) {
			t.Errorf("leader stats %+v: want voted for itself, ready", st)
		}
		if st.AppliedIndex != c.fsms[i].AppliedIndex() {
			t.Errorf("node %d applied %d, fsm %d", i, st.AppliedIndex, c.fsms[i].AppliedIndex())
		}
	}
}

// noPreVoteTransport hides raft.WithPreVote.
type noPreVoteTransport struct{ raft.Transport }

func TestNewRequiresPreVote(t *testing.T) {
	tests := []struct {
		name    string
		wrap    bool
		wantErr error
	}{
		{"inmem supports pre-vote", false, nil},
		{"transport without pre-vote refused", true, ErrPreVoteUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, tr := raft.NewInmemTransport("")
			var trans raft.Transport = tr
			if tt.wrap {
				trans = noPreVoteTransport{tr}
			}
			n, err := New(context.Background(), testConfig("0", t.TempDir()), newTestFSM(), trans)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("New err = %v, want %v", err, tt.wantErr)
			}
			if n != nil {
				_ = n.Shutdown(context.Background())
			}
		})
	}
}
