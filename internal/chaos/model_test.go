package chaos

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
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

func TestClassifyWrite(t *testing.T) {
	if classifyWrite(false, errTest) != stFail {
		t.Error("a request never sent must count as failed")
	}
	if classifyWrite(true, errTest) != stUnknown {
		t.Error("a transport error after sending must be unknown")
	}
}

var errTest = porcupineErr("connection reset")

type porcupineErr string

func (e porcupineErr) Error() string { return string(e) }
