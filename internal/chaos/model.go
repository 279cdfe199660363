package chaos

import (
	"fmt"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

// kind is a register operation.
type kind int

const (
	opRead kind = iota
	opWrite
	opCAS
)

func (k kind) String() string {
	return [...]string{"read", "write", "cas"}[k]
}

// input is what a client asked for.
type input struct {
	Kind kind
	Key  int
	Val  int64 // write/cas: the new (unique) value
	Old  int64 // cas: the expected value
}

// output is what the client saw.
type output struct {
	Val     int64 // read: the value
	OK      bool  // cas: swapped
	Unknown bool  // write/cas: no answer; may or may not have happened
}

// status of a finished operation from the client's side.
type status int

const (
	stOK      status = iota // definite answer
	stFail                  // definitely did not happen (dropped from the history)
	stUnknown               // write/cas without an answer
)

// record is one operation as the workload saw it.
type record struct {
	Client    int
	ID        int64 // unique op id (also the audit id of a write/cas)
	Phase     int
	In        input
	Out       output
	St        status
	Call, Ret int64 // ns since the start of the run
	Server    int
	Err       string
	// Retry mode: how many attempts the write took, and the LAST_INSERT_ID
	// of its audit row in the definite answer.
	Attempts int
	AuditSeq int64
}

// registerModel is a map of integer registers, partitioned by key.
var registerModel = porcupine.Model{
	Partition: func(h []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[int][]porcupine.Operation{}
		var keys []int
		for _, op := range h {
			k := op.Input.(input).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		sort.Ints(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return int64(0) },
	Step: func(state, in, out any) (bool, any) {
		s, i, o := state.(int64), in.(input), out.(output)
		switch i.Kind {
		case opRead:
			return o.Val == s, s
		case opWrite:
			return true, i.Val
		case opCAS:
			if o.Unknown {
				// Linearized where it is unobservable (at the end) it may
				// also not have happened; wherever the checker places it,
				// it swaps iff the register holds Old.
				if s == i.Old {
					return true, i.Val
				}
				return true, s
			}
			if o.OK {
				return s == i.Old, i.Val
			}
			return s != i.Old, s
		}
		return false, s
	},
	DescribeOperation: func(in, out any) string {
		i, o := in.(input), out.(output)
		switch i.Kind {
		case opRead:
			return fmt.Sprintf("get(k%d) -> %d", i.Key, o.Val)
		case opWrite:
			if o.Unknown {
				return fmt.Sprintf("put(k%d, %d) -> ?", i.Key, i.Val)
			}
			return fmt.Sprintf("put(k%d, %d)", i.Key, i.Val)
		default:
			if o.Unknown {
				return fmt.Sprintf("cas(k%d, %d, %d) -> ?", i.Key, i.Old, i.Val)
			}
			return fmt.Sprintf("cas(k%d, %d, %d) -> %v", i.Key, i.Old, i.Val, o.OK)
		}
	},
	DescribeState: func(s any) string { return fmt.Sprint(s.(int64)) },
}

// history turns records into porcupine operations: failed operations are
// left out; unknown ones return at end (after every other operation).
//
// As in etcd's robustness tests, an unknown write whose value nobody ever
// observed (no read returned it, no successful cas expected it) is dropped:
// values are unique and blind, so it is indistinguishable from not having
// happened. An observed one returns at its first observation's return
// (it must have taken effect by then). One exception: a failed cas on the
// same key that returned after the unknown write's call may have failed
// because that write happened (its value was overwritten before anyone read
// it); dropping the write would then flag a correct history, so it is kept,
// returning at end, and the checker decides.
func history(recs []record, end int64) []porcupine.Operation {
	type kv struct {
		k int
		v int64
	}
	seen := map[kv]int64{} // earliest return of an observation
	observe := func(k int, v int64, ret int64) {
		if old, ok := seen[kv{k, v}]; !ok || ret < old {
			seen[kv{k, v}] = ret
		}
	}
	for _, r := range recs {
		if r.St != stOK {
			continue
		}
		switch {
		case r.In.Kind == opRead:
			observe(r.In.Key, r.Out.Val, r.Ret)
		case r.In.Kind == opCAS && r.Out.OK:
			observe(r.In.Key, r.In.Old, r.Ret)
		}
	}
	lastFailedCAS := map[int]int64{} // key → latest return of a cas answered false
	for _, r := range recs {
		if r.St == stOK && r.In.Kind == opCAS && !r.Out.OK && r.Ret > lastFailedCAS[r.In.Key] {
			lastFailedCAS[r.In.Key] = r.Ret
		}
	}
	var ops []porcupine.Operation
	for _, r := range recs {
		switch r.St {
		case stFail:
			continue
		case stUnknown:
			if r.In.Kind == opRead {
				continue
			}
			ret, observed := seen[kv{r.In.Key, r.In.Val}]
			if !observed {
				if lastFailedCAS[r.In.Key] <= r.Call {
					continue
				}
				ret, observed = end, true
			}
			if ret < r.Call {
				ret = end // observed before it was sent: let the checker refute it
			}
			out := r.Out
			out.Unknown = true
			ops = append(ops, porcupine.Operation{ClientId: r.Client, Input: r.In, Call: r.Call, Output: out, Return: ret})
		default:
			ops = append(ops, porcupine.Operation{ClientId: r.Client, Input: r.In, Call: r.Call, Output: r.Out, Return: r.Ret})
		}
	}
	return ops
}

// verdict of a linearizability check.
type verdict struct {
	Result porcupine.CheckResult
	Info   porcupine.LinearizationInfo
	Ops    int
}

// check runs porcupine on recs (unknowns returning at end) with a timeout.
func check(recs []record, end int64, timeout time.Duration) verdict {
	ops := history(recs, end)
	res, info := porcupine.CheckOperationsVerbose(registerModel, ops, timeout)
	return verdict{Result: res, Info: info, Ops: len(ops)}
}

// visualize writes porcupine's HTML for v to path.
func visualize(v verdict, path string) error {
	return porcupine.VisualizePath(registerModel, v.Info, path)
}
