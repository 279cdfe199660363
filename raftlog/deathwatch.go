package raftlog

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
)

// Fast failover on a leader's process death.
//
// A follower normally notices a dead leader only when it has heard nothing
// for its heartbeat timeout (a random time in [T, 2T), 0.5–1 s with the
// 500 ms default). When only the leader's process dies and its host stays
// up, the host's kernel closes the process's connections at once: every
// follower reads EOF on the inbound Raft connections the leader had open
// to it, and the leader's port refuses new connections. The death watch
// acts on that:
//
//  1. an inbound Raft connection ended by its peer (EOF or reset) wakes it
//     (at most one probe per deathProbeGap);
//  2. if this server is a follower with a known leader, it dials the
//     leader's Raft address (a plain TCP connect, nothing sent); only a
//     refused connection (ECONNREFUSED: the host answers, nothing listens)
//     counts as death. A connect that succeeds, times out or fails
//     otherwise proves nothing, and the ordinary timeouts stay in charge
//     (a partition, a hung or paused leader, a host that is gone);
//  3. it waits until it has heard nothing from any leader (and granted no
//     vote) for the leader's lease (LeaderLease) plus ElectionTimeout/5
//     (deathQuiet), plus deathStagger per turn (step 4); any contact
//     restarts that silence. A refused connect can lie (a firewall REJECT
//     answers for a live host; a listener closed under a running raft): a
//     leader that is alive keeps serving default (lease) reads and holding
//     the VIP until LeaderLease after it last reached a quorum, so no
//     successor may win before that (the guarantee the ordinary timeouts
//     give, since ElectionTimeout > LeaderLease). A leader that still
//     reaches this follower is never replaced by it: the follower gives up
//     after 3×ElectionTimeout more and leaves it to the ordinary timeouts;
//  4. the surviving voters take turns in ID order, each needing
//     deathStagger more silence than the one before, counted for all but
//     the first from when the watch woke too (their last contacts differ
//     by up to two CommitTimeouts, the wake-up is common; deathWait); each
//     acts only if it is still a follower, knows no other leader, and the
//     dead leader's port still refuses; once an election has begun (a
//     later term), the next voters need ElectionTimeout more silence, so
//     that a winner's slow first heartbeat does not get it deposed, unless
//     this voter refused that election's candidate for a log behind its
//     own, granted no vote in its term, and the candidate needs its vote
//     (3 or 4 voters: the dead leader and this one leave no quorum;
//     Overtakes): that candidate cannot win, so the voter keeps its turn;
//  5. the election is started the way a leadership transfer starts one: a
//     TimeoutNow request is handed to this server's own raft, which makes
//     it a candidate at once and asks for votes with the transfer flag, so
//     the other followers, who still remember the dead leader, vote
//     instead of refusing because "we have a leader". Raft's vote rules
//     are otherwise untouched: a candidate with a shorter log loses, and
//     the next voter in turn tries.
//
// Residual: the transfer flag also makes a follower that still hears the
// leader vote. If a firewall cuts the leader off from one follower only,
// with resets (REJECT), that follower replaces the leader after deathQuiet
// as a leadership transfer would (Raft safety and strong reads are
// unaffected; the old leader steps down at its next heartbeat), where pre-
// vote would otherwise have kept it. Inbound Raft connections are mutually
// authenticated zone peers (mux), so nobody outside the zone can wake the
// watch (with INSECURE_RAFT anyone who reaches PORT can; such a peer could
// send TimeoutNow itself anyway).

// deathProbeTimeout bounds the connect to the leader's address; a refused
// connect on a live host returns in well under a millisecond.
const deathProbeTimeout = 200 * time.Millisecond

// deathProbeTries is how many connects a wake-up may make, deathProbeGap
// apart: at process exit the kernel may close the connections a moment
// before the listening socket, so a first connect can still succeed.
const (
	deathProbeTries = 3
	deathProbeGap   = 20 * time.Millisecond
)

// deathQuiet is how long this follower must have heard nothing from the
// leader before its election may start (step 3 above).
func (n *Node) deathQuiet() time.Duration { return n.cfg.LeaderLease + n.cfg.ElectionTimeout/5 }

// Transport is raft's network transport with the death watch's hook on
// inbound connections (NewTransport). A Node started on it replaces a
// leader whose process died without waiting for its heartbeat timeout.
type Transport struct {
	*raft.NetworkTransport
	closes chan struct{} // an inbound connection ended by its peer (capacity 1)
}

// closeWatchLayer marks every accepted connection so that its end by the
// peer wakes the death watch.
type closeWatchLayer struct {
	raft.StreamLayer
	closes chan struct{}
}

func (l *closeWatchLayer) Accept() (net.Conn, error) {
	c, err := l.StreamLayer.Accept()
	if err != nil {
		return c, err
	}
	return &watchedConn{Conn: c, closes: l.closes}, nil
}

// watchedConn signals, once, when a read finds the peer gone.
type watchedConn struct {
	net.Conn
	closes chan struct{}
	once   sync.Once
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && peerGone(err) {
		c.once.Do(func() {
			select {
			case c.closes <- struct{}{}:
			default: // a wake-up is pending already
			}
		})
	}
	return n, err
}

// peerGone reports whether a read error means the other end closed or
// reset the connection (not a local close or a deadline).
func peerGone(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// probeResult is what a connect to the leader's address showed.
type probeResult int

const (
	probeAlive   probeResult = iota // something accepted the connection
	probeRefused                    // the host refused: nothing listens there
	probeUnknown                    // timeout or another error: proves nothing
)

func (p probeResult) String() string {
	return [...]string{"alive", "refused", "unknown"}[p]
}

// probe connects to addr once; it never sends a byte.
func probe(ctx context.Context, addr string) probeResult {
	d := net.Dialer{Timeout: deathProbeTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	switch {
	case err == nil:
		_ = c.Close()
		return probeAlive
	case errors.Is(err, syscall.ECONNREFUSED):
		return probeRefused
	default:
		return probeUnknown
	}
}

// probeDead reports whether addr refused a connection within
// deathProbeTries connects; false as soon as one is accepted or ctx ends.
func probeDead(ctx context.Context, addr string) (bool, probeResult) {
	var last probeResult
	for i := range deathProbeTries {
		if i > 0 {
			select {
			case <-ctx.Done():
				return false, last
			case <-time.After(deathProbeGap):
			}
		}
		last = probe(ctx, addr)
		if last == probeRefused {
			return true, last
		}
	}
	return false, last
}

// DeathWatchStats counts the death watch's work on this server.
type DeathWatchStats struct {
	// Probes: inbound Raft connections ended by their peer while this
	// server followed a known leader, each followed by connects to it:
	// Alive + Refused + Unknown.
	Probes uint64
	// Alive: probes the leader's address accepted (nothing done).
	Alive uint64
	// Refused: probes the leader's address refused (the leader is dead).
	Refused uint64
	// Unknown: probes that timed out or failed otherwise (nothing done).
	Unknown uint64
	// Spared: refused probes after which no election followed: a leader
	// was still or again heard from (or a vote granted) until the wait's
	// end, another leader appeared, or the port answered again.
	Spared uint64
	// Elections: elections this server started after a refused probe.
	Elections uint64
	// Overtakes: of Elections, those started in this server's turn
	// although an election had begun, because this server had refused
	// that election's candidate for a log behind its own (it could not
	// win with this server's vote), instead of ElectionTimeout later.
	Overtakes uint64
}

type deathCounters struct {
	alive, refused, unknown, spared, elections, overtakes atomic.Uint64
}

// DeathWatch returns the death watch's counters (all zero on a transport
// without it, such as raft's in-memory one).
func (n *Node) DeathWatch() DeathWatchStats {
	st := DeathWatchStats{Alive: n.deaths.alive.Load(), Refused: n.deaths.refused.Load(),
		Unknown: n.deaths.unknown.Load(), Spared: n.deaths.spared.Load(), Elections: n.deaths.elections.Load(),
		Overtakes: n.deaths.overtakes.Load()}
	st.Probes = st.Alive + st.Refused + st.Unknown
	return st
}

// deathStagger is the wait between two voters' turns: ElectionTimeout/2.
// It must exceed the time from one survivor's TimeoutNow to the next one
// seeing its RequestVote's term (the candidate's and the voter's fsyncs of
// the term, two goroutine hand-offs and a round trip): a later turn that
// becomes a candidate before that splits the vote, and the zone waits for
// the ordinary election timeout. At ElectionTimeout/5 (40 ms with the
// tests' 200 ms) two CPU burners on 2 cores made that happen in 4 of 331
// kills. It delays a later turn, which acts when the first in turn did not
// (dead too) or, in a zone of 3 or 4 voters, when it refused the first
// one's candidate for a log behind its own (Overtakes): with the defaults
// 600 ms after the death, inside raft's own heartbeat timeout (500 ms to
// 1 s after the last contact), which may start an election first; either
// way the survivor with the longer log wins.
func (n *Node) deathStagger() time.Duration { return max(n.cfg.ElectionTimeout/2, minDuration) }

// deathWatch runs the watch until the node stops (see the top of this
// file).
func (n *Node) deathWatch(closes <-chan struct{}) {
	defer n.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-n.stopCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-closes:
		}
		n.onPeerClosed(ctx)
		select { // at most one probe per deathProbeGap
		case <-ctx.Done():
			return
		case <-time.After(deathProbeGap):
		}
	}
}

// onPeerClosed probes the leader after an inbound connection ended and, if
// its port refuses, starts this server's election in its turn, once the
// leader has been silent for deathQuiet (see the top of this file).
func (n *Node) onPeerClosed(ctx context.Context) {
	if n.raft.State() != raft.Follower {
		return
	}
	addr, id := n.raft.LeaderWithID()
	if addr == "" {
		return // no leader known: an election runs already
	}
	term, woke := n.raft.CurrentTerm(), time.Now()
	dead, last := probeDead(ctx, string(addr))
	switch last {
	case probeAlive:
		n.deaths.alive.Add(1)
	case probeRefused:
		n.deaths.refused.Add(1)
	default:
		n.deaths.unknown.Add(1)
	}
	if !dead {
		n.log.Debug("death watch: a Raft connection closed; the leader's port does not refuse", "leader", string(id), "probe", last.String())
		return
	}
	elected := false
	defer func() {
		if !elected {
			n.deaths.spared.Add(1)
		}
	}()
	n.log.Warn("death watch: the leader's port refuses connections: its process is gone",
		"leader", string(id), "leader_addr", string(addr))
	ok, behind := n.awaitSilence(ctx, addr, id, term, woke)
	if !ok || probe(ctx, string(addr)) != probeRefused {
		return
	}
	if err := n.watch.inject(ctx, &raft.TimeoutNowRequest{RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte(n.cfg.ID), Addr: []byte(n.trans.LocalAddr())}}); err != nil {
		n.log.Warn("death watch: could not start an election", "error", err)
		return
	}
	elected = true
	n.deaths.elections.Add(1)
	if behind {
		n.deaths.overtakes.Add(1)
	}
	n.log.Warn("death watch: election started without waiting for the heartbeat timeout", "dead_leader", string(id))
}

// awaitSilence waits until this follower has heard nothing from any leader
// (and granted no vote: raft's LastContact) for deathQuiet plus
// deathStagger per turn (deathTurn) and, if its turn is not the first, as
// long a time has passed since it woke (deathWait); it reports true then. It
// reports false, at once, when this server stops being a follower or
// learns of another leader than dead. Once a term after term (the dead
// leader's) has begun, an election runs or ran already: the silence needed
// grows by ElectionTimeout, so that a winner whose first heartbeat is slow
// is not deposed by the next voter, while a failed election (its
// candidate's log too short) is still followed by the next voter's; not
// if this server refused that term's candidate for a log behind its own
// and the candidate needed its vote (behind, reported too). It
// also reports false when the silence has not come within 3×ElectionTimeout
// more (a leader still heard: by then the ordinary timeouts are in charge
// anyway). Contact restarts the silence, so a message the dead leader sent
// before dying, processed late, only delays the election. The turn is read
// from raft's latest configuration, which raft may briefly leave empty
// while it rewrites a log suffix; the wait reads it again until it holds
// this server (not a voter: false).
func (n *Node) awaitSilence(ctx context.Context, dead raft.ServerAddress, deadID raft.ServerID, term uint64, woke time.Time) (ok, behind bool) {
	turn, needed, known := -1, false, false
	giveUp := time.Now().Add(n.deathQuiet() + 3*n.cfg.ElectionTimeout)
	for {
		if n.raft.State() != raft.Follower {
			return false, false
		}
		if now, _ := n.raft.LeaderWithID(); now != "" && now != dead {
			return false, false
		}
		if !known {
			turn, needed, known = n.deathTurn(deadID)
			if known && turn < 0 {
				return false, false // not a voter
			}
			if known {
				giveUp = giveUp.Add(time.Duration(turn) * n.deathStagger())
			}
		}
		wait := minDuration
		if known {
			need := n.deathQuiet() + time.Duration(turn)*n.deathStagger()
			behind = false
			if now := n.raft.CurrentTerm(); now != term {
				seen := n.watch.get()
				if behind = needed && seen.behindTerm == now && seen.grantedTerm != now; !behind {
					need += n.cfg.ElectionTimeout
				}
			}
			wait = deathWait(time.Now(), n.raft.LastContact(), woke, turn, need)
			if wait <= 0 {
				return true, behind
			}
		}
		if time.Now().Add(wait).After(giveUp) {
			return false, false
		}
		select {
		case <-ctx.Done():
			return false, false
		case <-time.After(min(wait, n.deathRecheck())):
		}
	}
}

// deathRecheck bounds each sleep of awaitSilence, so that what it waits on
// is read again: raft sets a candidate's term before it answers the vote,
// and the vote watch notes a refusal only after that answer.
func (n *Node) deathRecheck() time.Duration { return max(n.cfg.ElectionTimeout/10, minDuration) }

// deathWait is how much longer a survivor whose turn is turn must wait
// before its election, given its last contact with a leader and the moment
// its death watch woke; need is deathQuiet + turn×deathStagger (plus
// ElectionTimeout once an election has begun). Rule: a survivor never
// acts before need has passed since its last contact (the dead leader's
// lease, step 3), and a later turn also not before need has passed since
// it woke. The survivors' last contacts differ by up to two CommitTimeouts
// (each follower's idle AppendEntries comes on its own random timer), which
// can exceed deathStagger; the wake-up, the kernel closing the dead
// leader's connections, is the same moment for all of them. So the first
// in turn acts at most deathQuiet after the wake-up, and the next one at
// least deathStagger later, whatever their last contacts: two survivors
// becoming candidates at once would split the vote and leave the zone to
// the ordinary election timeout.
func deathWait(now, lastContact, woke time.Time, turn int, need time.Duration) time.Duration {
	wait := lastContact.Add(need).Sub(now)
	if turn > 0 {
		wait = max(wait, woke.Add(need).Sub(now))
	}
	return max(wait, 0)
}

// deathTurn is this server's place among the voters other than dead, in
// ID order, and whether a candidate needs this server's vote to win (it
// cannot reach a quorum with every other voter but dead: zones of 3 or 4
// voters). known is false while raft's latest configuration is empty (see
// awaitSilence); turn is -1 when this server is not one of them.
func (n *Node) deathTurn(dead raft.ServerID) (turn int, needed, known bool) {
	f := n.raft.GetConfiguration()
	if f.Error() != nil || len(f.Configuration().Servers) == 0 {
		return -1, false, false
	}
	var ids []string
	voters := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			voters++
			if s.ID != dead {
				ids = append(ids, string(s.ID))
			}
		}
	}
	slices.Sort(ids)
	return slices.Index(ids, n.cfg.ID), voteNeeded(voters), true
}

// voteNeeded reports whether, in a zone of voters voters whose leader is
// dead, a candidate needs one given survivor's vote: without the dead
// leader and that survivor it has at most voters-2 votes, its own
// included, short of a quorum in zones of 3 and 4.
func voteNeeded(voters int) bool { return voters-2 < voters/2+1 }
