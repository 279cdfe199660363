package sqlfsm

import "errors"

// FaultPoint names a place in the apply path where tests inject faults.
type FaultPoint string

// The fault points, in the order an entry passes them.
const (
	// PointBeforeDDL: the DDL marker is committed, the DDL has not run.
	PointBeforeDDL FaultPoint = "before-ddl"
	// PointAfterDDL: the DDL has run (and committed implicitly), the applied
	// index has not been updated.
	PointAfterDDL FaultPoint = "after-ddl"
	// PointBeforeCommit: a batch's statements ran, its transaction (with the
	// applied index) is not committed yet.
	PointBeforeCommit FaultPoint = "before-commit"
)

// ErrCrash, returned by a fault hook, makes the FSM behave as if its process
// died at that point: it rolls back what is uncommitted and applies nothing
// more until Close. Tests then restart it on the same database.
var ErrCrash = errors.New("injected crash")

// Faults injects failures for tests. Hook is called at every FaultPoint with
// the index of the entry (or the batch's last entry). Returning ErrCrash
// simulates a crash; any other error is treated as a transient DB fault.
type Faults struct {
	Hook func(point FaultPoint, index uint64) error
}

func (f *Faults) at(p FaultPoint, index uint64) error {
	if f == nil || f.Hook == nil {
		return nil
	}
	return f.Hook(p, index)
}
