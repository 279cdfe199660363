package sqlfsm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/backup"
)

// Federation tables (FEDERATION MODE MASTER or SLAVE; see Fed). They exist
// on every server, like AppliedTable, and are replicated state.
const (
	// FedTable holds the last federation index this server applied
	// (0: none yet), in one row.
	FedTable = "oneha_fed"
	// FedLogTable is the master zone's federation log: each federated
	// entry's record (EncodeRecord), by federation index, pruned to the
	// newest Fed.Keep records in the entry that adds one.
	FedLogTable = "oneha_fedlog"
)

// ErrFedGap: a federated record's previous index is not this server's last
// federation index (a gap, or a record applied before). Nothing applied;
// the *FedGapError says which index the server holds.
var ErrFedGap = errors.New("federation log is out of step")

// FedGapError is the result of a slave entry that did not apply because
// the server's last federation index is Last, not the record's Prev.
type FedGapError struct{ Last, Index, Prev uint64 }

func (e *FedGapError) Error() string {
	return fmt.Sprintf("Zone log is outdated last log index is %d (record %d follows %d)", e.Last, e.Index, e.Prev)
}

func (e *FedGapError) Unwrap() error { return ErrFedGap }

// Fed makes an entry part of the federation stream, which carries the
// writes on federated tables from the master zone to every slave zone in
// one order.
//
//   - On the master (Index 0) the FSM gives the entry the next federation
//     index (last + 1) and stores its record in FedLogTable, in the entry's
//     own transaction, only if the entry's statements succeed: a failed
//     entry takes no index, so the stream holds only what applied.
//   - On a slave (Index > 0) the entry is the master's record Index; it
//     applies only if the server's last federation index is Prev, and then
//     advances it to Index in the same transaction. Otherwise nothing runs
//     and the result is a *FedGapError naming the last index, so a record
//     delivered twice, or after a gap, never applies.
//
// Everything read or written is replicated state or entry data: every
// server of a zone answers alike (I3).
type Fed struct {
	Index, Prev uint64
	// Keep (master only): how many records FedLogTable keeps; 0 keeps all.
	Keep uint64
	// Snapshot (slave only): the entry replaces the federated tables with
	// the master's at federation index Index, whatever this server's last
	// index is, if it is lower (a slave behind the master's purged log).
	// Its one statement's SQL is a backup dump of those tables
	// (backup.Options.Only), its parameters the table names to replace.
	Snapshot bool
}

func (f *Fed) validate() error {
	if f.Snapshot {
		if f.Index == 0 || f.Prev != 0 || f.Keep != 0 {
			return fmt.Errorf("federation: snapshot at %d with prev %d, keep %d", f.Index, f.Prev, f.Keep)
		}
		return nil
	}
	if f.Index == 0 && f.Prev != 0 {
		return fmt.Errorf("federation: a master entry (index 0) has prev %d", f.Prev)
	}
	if f.Index != 0 && (f.Prev+1 != f.Index || f.Keep != 0) {
		// Indexes are consecutive: a record that skips some would let one
		// call move a slave ahead of its master for good.
		return fmt.Errorf("federation: record %d after %d (keep %d): want the one after its predecessor", f.Index, f.Prev, f.Keep)
	}
	return nil
}

// EncodeRecord is the federation record of a master entry: its context and
// statements (no request id, no Fed), in the entry codec. A slave applies
// it with the master's context, so every zone computes the same values.
func EncodeRecord(e *Entry) ([]byte, error) {
	r := Entry{Context: e.Context, DDL: e.DDL, Statements: e.Statements}
	return Encode(&r)
}

// DecodeRecord parses a record made by EncodeRecord.
func DecodeRecord(b []byte) (*Entry, error) {
	e, err := Decode(b)
	if err != nil {
		return nil, err
	}
	if e.Request != nil || e.Fed != nil {
		return nil, fmt.Errorf("%w: a federation record carries a request id or federation index", ErrBadEntry)
	}
	return e, nil
}

// readFedLast reads FedTable's last index.
func readFedLast(ctx context.Context, x execer) (uint64, error) {
	var last uint64
	if err := x.QueryRowContext(ctx, `SELECT last_index FROM `+FedTable+` WHERE id = 1`).Scan(&last); err != nil {
		return 0, fmt.Errorf("read %s: %w", FedTable, err)
	}
	return last, nil
}

// fedPrior returns the result of a slave entry that must not apply (a
// *FedGapError), or nil when it must run. Master entries always run.
func fedPrior(ctx context.Context, x execer, e *Entry) (*Result, error) {
	if e.Fed.Index == 0 {
		return nil, nil
	}
	last, err := readFedLast(ctx, x)
	if err != nil {
		return nil, err
	}
	if e.Fed.Snapshot {
		if last >= e.Fed.Index {
			return &Result{Err: &FedGapError{Last: last, Index: e.Fed.Index}}, nil
		}
		return nil, nil
	}
	if last != e.Fed.Prev {
		return &Result{Err: &FedGapError{Last: last, Index: e.Fed.Index, Prev: e.Fed.Prev}}, nil
	}
	return nil, nil
}

// recordFed advances FedTable for an entry whose statements succeeded and,
// on the master, stores its record and prunes the log, in the entry's
// transaction. It sets res.FedIndex.
func recordFed(ctx context.Context, x execer, e *Entry, res *Result) error {
	if res.Err != nil {
		return nil
	}
	idx := e.Fed.Index
	if idx == 0 {
		last, err := readFedLast(ctx, x)
		if err != nil {
			return err
		}
		idx = last + 1
		rec, err := EncodeRecord(e)
		if err != nil {
			return fmt.Errorf("federation record: %w", err)
		}
		if _, err := x.ExecContext(ctx, `INSERT INTO `+FedLogTable+` (fed_index, record) VALUES (?, ?)`, idx, rec); err != nil {
			return fmt.Errorf("insert into %s: %w", FedLogTable, err)
		}
		if k := e.Fed.Keep; k > 0 && idx > k {
			if _, err := x.ExecContext(ctx, `DELETE FROM `+FedLogTable+` WHERE fed_index <= ?`, idx-k); err != nil {
				return fmt.Errorf("prune %s: %w", FedLogTable, err)
			}
		}
	}
	if _, err := x.ExecContext(ctx, `UPDATE `+FedTable+` SET last_index = ? WHERE id = 1`, idx); err != nil {
		return fmt.Errorf("update %s: %w", FedTable, err)
	}
	res.FedIndex = idx
	return nil
}

// FedLast is this server's last applied federation index (0: none).
func (f *FSM) FedLast(ctx context.Context) (uint64, error) {
	return readFedLast(ctx, f.db)
}

// FedRecord is one stored record of the master's federation log.
type FedRecord struct {
	Index uint64
	Data  []byte // EncodeRecord's bytes
}

// FedRecords returns up to max records of FedLogTable from index from on,
// in order, and the oldest index the log still holds (0: empty). A
// replicator that needs a record older than that must send a snapshot.
func (f *FSM) FedRecords(ctx context.Context, from uint64, max int) ([]FedRecord, uint64, error) {
	var oldest uint64
	if err := f.db.QueryRowContext(ctx, `SELECT COALESCE(MIN(fed_index), 0) FROM `+FedLogTable).Scan(&oldest); err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", FedLogTable, err)
	}
	rows, err := f.db.QueryContext(ctx, `SELECT fed_index, record FROM `+FedLogTable+` WHERE fed_index >= ? ORDER BY fed_index LIMIT ?`, from, max)
	if err != nil {
		return nil, 0, fmt.Errorf("read %s: %w", FedLogTable, err)
	}
	defer rows.Close()
	var out []FedRecord
	for rows.Next() {
		var r FedRecord
		if err := rows.Scan(&r.Index, &r.Data); err != nil {
			return nil, 0, fmt.Errorf("read %s: %w", FedLogTable, err)
		}
		out = append(out, r)
	}
	return out, oldest, rows.Err()
}

// applyFedSnapshot applies a snapshot entry (Fed.Snapshot) outside the
// batch transaction: it loads the dump (backup.Load with Only: the entry's
// table names), then records the federation index and the applied index
// together. A crash between the two replays the entry, and loading the
// same dump again converges to the same tables (it drops and refills
// them), so the entry takes effect once. Load's deterministic failures (a
// bad dump, an SQL error that every server meets alike) are the entry's
// result and change no index; transient ones retry.
func (f *FSM) applyFedSnapshot(ctx context.Context, l *raft.Log, e *Entry) (*Result, error) {
	res, err := fedPrior(ctx, f.conn, e)
	if err != nil {
		return nil, err
	}
	if res == nil {
		res = &Result{Statements: []StmtResult{{}}}
		tables := make([]string, 0, len(e.Statements[0].Params))
		for _, p := range e.Statements[0].Params {
			if n, ok := p.(string); ok {
				tables = append(tables, n)
			}
		}
		_, err := backup.Load(ctx, f.db, f.b.name(), strings.NewReader(e.Statements[0].SQL), backup.Options{Only: tables})
		switch {
		case err == nil:
		case ctx.Err() != nil:
			return nil, err
		case errors.Is(err, backup.ErrTruncated), errors.Is(err, backup.ErrCorrupt), errors.Is(err, backup.ErrNotDump),
			errors.Is(err, backup.ErrVersion), errors.Is(err, backup.ErrDialectMismatch), errors.Is(err, backup.ErrTables),
			f.b.classify(err) == deterministic:
			res = &Result{Err: &SQLError{Message: "federation snapshot: " + err.Error()}}
		default:
			return nil, err
		}
	}
	tx, err := f.conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	if err := recordFed(ctx, tx, e, res); err != nil {
		return nil, err
	}
	if err := writeApplied(ctx, tx, l.Index, l.Term); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	f.setApplied(appliedState{Index: l.Index, Term: l.Term})
	if res.Err == nil {
		f.noteTime(e.Context.Time.UnixMicro())
	}
	return res, nil
}

// FedSnapshot dumps the federated tables (those of tables that exist) in
// one read view, with the federation index they hold: what a slave too far
// behind the log receives. The dump is at most max bytes (ErrTooLarge).
func (f *FSM) FedSnapshot(ctx context.Context, tables []string, max int) (uint64, []byte, error) {
	snap, err := backup.Begin(ctx, f.db, f.b.name(), backup.Options{Only: tables})
	if err != nil {
		return 0, nil, err
	}
	defer snap.Close()
	var last uint64
	if err := snap.QueryRow(ctx, `SELECT last_index FROM `+FedTable+` WHERE id = 1`, &last); err != nil {
		return 0, nil, fmt.Errorf("read %s: %w", FedTable, err)
	}
	var buf limitedBuffer
	buf.max = max
	if _, err := snap.Write(ctx, &buf); err != nil {
		return 0, nil, err
	}
	return last, buf.b, nil
}

// ErrTooLarge: a federation snapshot exceeds its bound.
var ErrTooLarge = errors.New("federation snapshot too large")

type limitedBuffer struct {
	b   []byte
	max int
}

func (w *limitedBuffer) Write(p []byte) (int, error) {
	if len(w.b)+len(p) > w.max {
		return 0, fmt.Errorf("%w: more than %d bytes; seed the slave with onedb backup --federated and onedb restore --federated", ErrTooLarge, w.max)
	}
	w.b = append(w.b, p...)
	return len(p), nil
}
