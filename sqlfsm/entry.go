package sqlfsm

import "time"

// Context is what the leader binds into an entry so that every server computes
// the same values for time and random functions.
type Context struct {
	// Time is the leader's clock when the entry was created, UTC, microsecond
	// precision. NOW(6), CURRENT_TIMESTAMP, UNIX_TIMESTAMP() see it.
	Time time.Time
	// Seed1 and Seed2 seed RAND() (MySQL @@rand_seed1/2) and SQLite's
	// random()/randomblob() on the apply connection.
	Seed1, Seed2 uint32
}

// Entry is one replicated transaction: every statement applies, or none does.
//
// Invariant: an Entry that reached the log passed Check on the leader, so a
// DDL statement is always alone in its entry (DDL reports that).
type Entry struct {
	Context    Context
	DDL        bool // the single statement is DDL (MySQL commits it implicitly)
	Statements []Statement
	// Request, when set, makes the entry idempotent (see Request).
	Request *Request
	// Fed, when set, puts the entry in the federation stream (see Fed).
	Fed *Fed
}
