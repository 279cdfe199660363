package sqlfsm

// StmtResult is what one applied statement reports.
type StmtResult struct {
	RowsAffected int64
	LastInsertID int64
}

// Result is the FSM's response for one entry: one StmtResult per statement
// on success, or Err (a *SQLError) when the entry was rolled back because of a
// deterministic SQL error. Either way the entry counts as applied.
type Result struct {
	Statements []StmtResult
	Err        error
	// Replayed: the entry carried a request id that an earlier entry had
	// already applied; this is that entry's result, and nothing ran.
	Replayed bool
	// FedIndex: the federation index the entry took (Entry.Fed set and
	// applied), 0 otherwise.
	FedIndex uint64
}
