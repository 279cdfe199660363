package chaos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/oneha/oneha/xmlrpc"
)

// The checker itself: unknown writes may or may not have happened, a lost
// acknowledged write and a stale read are violations, and a violation can
// be visualized.
func TestRegisterModel(t *testing.T) {
	w := func(c int, id int64, call, ret int64, st status) record {
		return record{Client: c, ID: id, In: input{Kind: opWrite, Key: 1, Val: id}, St: st, Call: call, Ret: ret, Out: output{OK: true}}
	}
	rd := func(c int, v int64, call, ret int64) record {
		return record{Client: c, In: input{Kind: opRead, Key: 1}, Out: output{Val: v}, Call: call, Ret: ret}
	}
	cas := func(c int, old, id int64, ok bool, call, ret int64) record {
		return record{Client: c, ID: id, In: input{Kind: opCAS, Key: 1, Val: id, Old: old}, Out: output{OK: ok}, Call: call, Ret: ret}
	}
	cases := []struct {
		name string
		recs []record
		want porcupine.CheckResult
	}{
		{"sequential", []record{w(0, 5, 0, 10, stOK), rd(1, 5, 20, 30), cas(0, 5, 7, true, 40, 50), rd(1, 7, 60, 70)}, porcupine.Ok},
		{"unknown write not applied", []record{w(0, 5, 0, 10, stUnknown), rd(1, 0, 20, 30), rd(1, 0, 40, 50)}, porcupine.Ok},
		{"unknown write applied later", []record{w(0, 5, 0, 10, stUnknown), rd(1, 0, 20, 30), rd(1, 5, 40, 50)}, porcupine.Ok},
		{"unknown cas", []record{{Client: 0, ID: 5, In: input{Kind: opCAS, Key: 1, Val: 5, Old: 0}, St: stUnknown, Call: 0, Ret: 10}, rd(1, 5, 20, 30)}, porcupine.Ok},
		{"failed write dropped", []record{w(0, 5, 0, 10, stFail), rd(1, 0, 20, 30)}, porcupine.Ok},
		{"lost acknowledged write", []record{w(0, 5, 0, 10, stOK), rd(1, 0, 20, 30)}, porcupine.Illegal},
		{"stale read", []record{w(0, 5, 0, 10, stOK), w(0, 6, 20, 30, stOK), rd(1, 5, 40, 50)}, porcupine.Illegal},
		{"cas against wrong value", []record{w(0, 5, 0, 10, stOK), cas(1, 0, 6, true, 20, 30)}, porcupine.Illegal},
		{"unknown write seen only by a failed cas", []record{w(0, 5, 0, 10, stOK), rd(1, 5, 20, 30), w(2, 6, 40, 50, stUnknown), cas(1, 5, 7, false, 60, 70), w(0, 8, 80, 90, stOK), rd(1, 8, 100, 110)}, porcupine.Ok},
		{"failed cas with no write to explain it", []record{w(0, 5, 0, 10, stOK), rd(1, 5, 20, 30), cas(1, 5, 7, false, 60, 70)}, porcupine.Illegal},
		{"unknown write after the failed cas explains nothing", []record{w(0, 5, 0, 10, stOK), rd(1, 5, 20, 30), cas(1, 5, 7, false, 40, 50), w(2, 6, 60, 70, stUnknown)}, porcupine.Illegal},
		{"unknown then flip back", []record{w(0, 5, 0, 10, stUnknown), rd(1, 5, 20, 30), rd(1, 0, 40, 50)}, porcupine.Illegal},
	}
	for _, c := range cases {
		v := check(c.recs, 1000, 10*time.Second)
		if v.Result != c.want {
			t.Errorf("%s: %v, want %v", c.name, v.Result, c.want)
		}
		if v.Result == porcupine.Illegal {
			if err := visualize(v, filepath.Join(t.TempDir(), "v.html")); err != nil {
				t.Errorf("%s: visualize: %v", c.name, err)
			}
		}
	}
}

// TestClassifyWrite pins which failed writes count as definitely not
// applied (dropped from the history) and which as unknown, following the
// answers oned gives (oned/api.go: describe and forward).
func TestClassifyWrite(t *testing.T) {
	one := func(code int, msg string) error { return &xmlrpc.Error{Code: code, Message: msg} }
	cases := []struct {
		name string
		sent bool
		err  error
		want status
	}{
		{"never sent", false, errors.New("dial tcp 198.18.0.2:2633: connect: connection refused"), stFail},
		{"transport error after sending", true, errors.New("read tcp: connection reset by peer"), stUnknown},
		{"client timeout after sending", true, context.DeadlineExceeded, stUnknown},
		{"cancelled after sending (workload stopped)", true, fmt.Errorf("Post: %w", context.Canceled), stUnknown},
		{"wrapped transport error after sending", true, fmt.Errorf("xmlrpc: %w", io.ErrUnexpectedEOF), stUnknown},

		{"ActionError (SQL error, unsafe SQL)", true, one(xmlrpc.ActionError, "[one.sql.exec] sqlfsm: SQL error: UNIQUE constraint failed"), stFail},
		{"AuthenticationError", true, one(xmlrpc.AuthenticationError, "[one.sql.exec] bad session"), stFail},
		{"AuthorizationError", true, one(xmlrpc.AuthorizationError, "[one.sql.exec] not authorized"), stFail},
		{"XMLRPCAPIError (bad params)", true, one(xmlrpc.XMLRPCAPIError, "[one.sql.exec] session must be a string"), stFail},
		{"ActionError wrapped", true, fmt.Errorf("exec: %w", one(xmlrpc.ActionError, "[one.sql.exec] unsafe")), stFail},

		{"no leader found", true, one(xmlrpc.InternalError, "[one.sql.exec] NOT APPLIED: Cannot process request, no leader found"), stFail},
		{"no leader, old message without the prefix", true, one(xmlrpc.InternalError, "[one.sql.exec] Cannot process request, no leader found"), stUnknown},
		{"forwarding: connection refused", true, one(xmlrpc.InternalError, "[one.sql.exec] NOT APPLIED: forwarding to leader 198.18.0.3:2633: Post \"http://198.18.0.3:2633/RPC2\": dial tcp 198.18.0.3:2633: connect: connection refused"), stFail},
		{"forwarding: timeout after connecting", true, one(xmlrpc.OutcomeUnknownError, "[one.sql.exec] OUTCOME UNKNOWN: forwarding to leader 198.18.0.3:2633: Post \"http://198.18.0.3:2633/RPC2\": context deadline exceeded"), stUnknown},
		{"prefix in the middle of a message", true, one(xmlrpc.InternalError, "[one.sql.exec] statement 0: NOT APPLIED: x"), stUnknown},
		{"outcome unknown", true, one(xmlrpc.OutcomeUnknownError, "[one.sql.exec] OUTCOME UNKNOWN: the request was logged but no answer came: raftlog: outcome unknown"), stUnknown},
		{"leadership changed during the call", true, one(xmlrpc.InternalError, "[one.sql.exec] NOT APPLIED: leadership changed during the call; retry"), stFail},
		{"other InternalError", true, one(xmlrpc.InternalError, "[one.sql.exec] database degraded"), stUnknown},
		{"NoExistsError", true, one(xmlrpc.NoExistsError, "[one.sql.exec] no such zone"), stUnknown},
	}
	for _, c := range cases {
		if got := classifyWrite(c.sent, c.err); got != c.want {
			t.Errorf("%s: classifyWrite(%v, %v) = %v, want %v", c.name, c.sent, c.err, got, c.want)
		}
	}
}
