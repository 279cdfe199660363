// Package hooks turns leadership transitions into the floating-IP action
// and OpenNebula's RAFT_LEADER_HOOK / RAFT_FOLLOWER_HOOK commands.
//
// A Runner is fed raftlog.Node.Subscribe's transitions (Run) and can be
// forced into a role (Step). Becoming leader runs VIP.Acquire then the
// leader command; leaving leader (follower, candidate, shutdown — which
// includes a leader stepping down after losing its lease) runs VIP.Release
// then the follower command. Each action's result is recorded (Runs, Stats)
// and logged; a failed action never stops the runner.
//
// # Invariants
//
//   - One VIP holder (DESIGN.md I6): the follower actions run at startup
//     (clearing a VIP a crash left behind, as OpenNebula does), on every
//     step-down and lease loss, when the transitions end (node shutdown)
//     and when Run's context ends while the role is leader. Follower
//     actions once started are never cut short by a context, only by
//     Config.Timeout; leader actions are cut short (ErrSuperseded) as soon
//     as a non-leader transition arrives.
//   - Serialized and in order: Run's and Step's actions never overlap; a
//     role's VIP action runs before its command (acquire before the leader
//     hook, release before the follower hook).
//   - Coalescing without loss: transitions to the role already acted on run
//     nothing; transitions arriving while actions run collapse to the
//     latest desired role, and the runner always ends in the role of the
//     last transition. A step-down is never coalesced away: leader →
//     follower → leader runs release and acquire again.
//   - Bounded: every action runs with Config.Timeout. A command runs in its
//     own process group with stdin /dev/null and ONEHA_ROLE=leader|follower
//     added to the inherited environment; on timeout or cancellation the
//     whole group is killed (SIGKILL), so children a hook forked die too.
//     The runner does not wait for processes a hook left running after it
//     exited (they are logged).
//   - Validated up front: New refuses a COMMAND that does not exist or is
//     not executable (relative paths resolve against Config.Dir, default
//     /var/lib/one/remotes/hooks) with an error naming the oned.conf key.
//     ARGUMENTS is split on whitespace, without shell quoting.
//   - No package-level mutable state.
//
// # Versus OpenNebula
//
// OpenNebula runs hooks detached and never waits, so leader and follower
// hooks on different hosts can run tens of seconds apart or out of order,
// and an isolated leader keeps the VIP until it sees a higher term. Here
// actions are ordered and awaited, bounded by a timeout, recorded, and a
// leader that loses its lease releases the VIP within the lease.
package hooks
