package oned

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"testing"

	"github.com/oneha/oneha/raftlog"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/xmlrpc"
)

// TestWriteFailuresSayWhetherRetryIsSafe: every way a write can fail
// without a definite answer maps to NOT APPLIED (nothing logged) or
// OUTCOME_UNKNOWN (maybe logged), never the other; the classification a
// client applies (xmlrpc.RetrySafe / OutcomeUnknown) agrees.
func TestWriteFailuresSayWhetherRetryIsSafe(t *testing.T) {
	answer := func(err error) error {
		msg, code := describe(markNotApplied(err))
		return &xmlrpc.Error{Code: code, Message: "[one.sql.exec] " + msg}
	}
	fromForward := func(err error) error {
		a := forwardFailure("one.sql.exec", "10.0.0.1:2633", err)
		return &xmlrpc.Error{Code: int(a[2].(int64)), Message: a[1].(string)}
	}
	dial := &url.Error{Op: "Post", URL: "http://10.0.0.1:2633/RPC2", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}}
	read := &url.Error{Op: "Post", URL: "http://10.0.0.1:2633/RPC2", Err: &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}}
	for _, c := range []struct {
		name          string
		err           error
		safe, unknown bool
	}{
		{"appended, leadership lost", fmt.Errorf("raftlog: apply: %w: %w", raftlog.ErrUnknownOutcome, errors.New("leadership lost")), false, true},
		{"appended, caller's deadline while waiting", fmt.Errorf("raftlog: apply: %w: %w", raftlog.ErrUnknownOutcome, context.DeadlineExceeded), false, true},
		{"FSM closed under a committed entry", sqlfsm.ErrClosed, false, true},
		{"deadline before enqueueing", fmt.Errorf("raftlog: apply: %w", context.DeadlineExceeded), true, false},
		{"shut down before appending", raftlog.ErrShutdown, true, false},
		{"unclassified", errors.New("database degraded"), false, false},
		{"SQL error", &sqlfsm.SQLError{Code: 19, Message: "UNIQUE"}, false, false},
		{"request id reused", fmt.Errorf("%w: x", sqlfsm.ErrRequestMismatch), false, false},
	} {
		got := answer(c.err)
		if xmlrpc.RetrySafe(got) != c.safe || xmlrpc.OutcomeUnknown(got) != c.unknown {
			t.Errorf("%s: answered %v; want safe=%v unknown=%v", c.name, got, c.safe, c.unknown)
		}
	}
	if e := fromForward(dial); !xmlrpc.RetrySafe(e) || xmlrpc.OutcomeUnknown(e) {
		t.Errorf("leader not connected to: %v, want NOT APPLIED", e)
	}
	if e := fromForward(read); xmlrpc.RetrySafe(e) || !xmlrpc.OutcomeUnknown(e) {
		t.Errorf("leader stopped answering after the request was sent: %v, want OUTCOME_UNKNOWN", e)
	}
	if e := (&xmlrpc.Error{Code: xmlrpc.InternalError, Message: "[one.sql.exec] " + errNoLeader.Error()}); !xmlrpc.RetrySafe(e) {
		t.Errorf("no leader: %v, want NOT APPLIED", e)
	}
}
