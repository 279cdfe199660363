package sqlfsm

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/sqlcheck"
)

// Config configures an FSM.
type Config struct {
	Dialect sqlcheck.Dialect
	// DB is the server's local database. The FSM keeps one connection of its
	// pool for applying; reads and snapshots use others (MaxOpenConns >= 3).
	DB *sql.DB
	// ApplyDB, if set, provides the apply connection instead of DB (MySQL
	// only). A pool opened with OpenMySQLApply (multi-statements on) lets a
	// whole batch apply in one round trip; without it entries apply one
	// statement per round trip. User SQL never runs on it. On SQLite the
	// FSM opens its own apply connection on DB's file (see sqliteSession).
	ApplyDB *sql.DB
	// StatementBudget (SQLite) is the most VM instructions one statement
	// of an entry may run; a statement that needs more fails with the same
	// error on every server (default DefaultStatementBudget).
	StatementBudget int64
	Logger          *slog.Logger
	// RetryMin and RetryMax bound the backoff between retries of a batch that
	// hit a transient fault (defaults 20 ms and 2 s).
	RetryMin, RetryMax time.Duration
	// Faults injects failures (tests only).
	Faults *Faults
	// StallAfter: a batch still running after this long makes Stalled
	// report it (default 10 s). It never interrupts the batch: a time
	// limit would end it on one server and not on another.
	StallAfter time.Duration
	// TrialBudget bounds the leader-side trial of writes that contain a
	// query (MariaDB; see DB.trial): default 2 s, negative disables it.
	TrialBudget time.Duration
	// AuditInterval: every this many entries the FSM checksums its tables
	// at that exact index (see ApplyBatch and Audits); 0 disables it.
	// Entry outcomes are recorded either way (Outcomes).
	AuditInterval uint64
}

// FSM applies committed entries to a SQL database. It implements
// raft.BatchingFSM and is a persistent FSM: the database is the state, and
// AppliedIndex says how far it got.
//
// Invariants:
//   - an entry's effects and the applied index commit in one DB transaction
//     (MySQL DDL: see applyDDL), so an entry is applied at most once;
//   - an entry is never skipped: a transient fault stalls the batch, which is
//     retried until it succeeds or the FSM is closed;
//   - entries apply in log order on a single connection.
type FSM struct {
	cfg     Config
	b       backend
	db      *sql.DB
	applyDB *sql.DB // pool of the apply connection (DB unless Config.ApplyDB)
	fast    bool    // MySQL batches apply in one multi-statement round trip
	log     *slog.Logger
	schema  sqlcheck.SchemaInfo
	texts   *textCache // what the lexer and the check found per SQL text

	ctx  context.Context // cancelled by Close: stops retries and applies
	stop context.CancelFunc

	mu      sync.Mutex // guards conn, applied, crashed
	conn    *sql.Conn  // the apply connection
	applied appliedState
	crashed bool // an injected crash halted the FSM

	appliedIndex atomic.Uint64
	restoring    atomic.Bool  // Restore is replacing the database
	lastTime     atomic.Int64 // Unix micros of the newest applied entry's context
	degraded     atomic.Pointer[error]
	faults       atomic.Uint64 // failed attempts (transient faults) so far

	settings atomic.Pointer[Settings] // read when the apply connection opens
	connID   atomic.Uint64            // MySQL CONNECTION_ID() of the apply connection
	running  atomic.Int64             // Unix nanos the current attempt began, 0 when idle
	runFirst atomic.Uint64            // first and last index of the running batch
	runLast  atomic.Uint64

	audit auditor // divergence audit: outcomes and table checksums

	autoInc autoIncCache // whether a table has an AUTO_INCREMENT column (trial.go)
}

var _ raft.BatchingFSM = (*FSM)(nil)

// New opens the FSM on cfg.DB: it checks the server settings, creates the
// applied-index table when missing, and finishes a MySQL DDL entry that a
// crash interrupted (see recoverDDL).
func New(ctx context.Context, cfg Config) (*FSM, error) {
	texts := newTextCache()
	b, err := newBackend(cfg.Dialect, texts)
	if err != nil {
		return nil, err
	}
	if cfg.DB == nil {
		return nil, errors.New("sqlfsm: Config.DB is nil")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 20 * time.Millisecond
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = 2 * time.Second
	}
	if cfg.StallAfter <= 0 {
		cfg.StallAfter = 10 * time.Second
	}
	f := &FSM{cfg: cfg, b: b, db: cfg.DB, log: cfg.Logger.With("component", "sqlfsm"), schema: b.schema(cfg.DB), texts: texts}
	f.ctx, f.stop = context.WithCancel(context.Background())
	f.audit.interval = cfg.AuditInterval
	f.applyDB = cfg.ApplyDB
	if f.applyDB == nil {
		f.applyDB = cfg.DB
	}
	if cfg.Dialect == sqlcheck.SQLite {
		if cfg.ApplyDB != nil {
			return nil, errors.New("sqlfsm: Config.ApplyDB is for MySQL; SQLite's apply connection is the FSM's own")
		}
		s, err := newSQLiteSession(ctx, cfg.DB, cfg.StatementBudget)
		if err != nil {
			return nil, err
		}
		f.b, f.applyDB = sqliteBackend{s}, s.pool
		b = f.b
	}
	f.fast = cfg.Dialect == sqlcheck.MySQL && cfg.ApplyDB != nil
	conn, err := f.openConn(ctx)
	if err != nil {
		f.b.close()
		return nil, fmt.Errorf("sqlfsm: open apply connection: %w", err)
	}
	if f.fast {
		if _, _, ok := partialResults(conn); !ok {
			// A failed entry would have to roll its whole batch back, which
			// makes AUTO_INCREMENT ids depend on the batches (applyFast).
			f.fast = false
			f.log.Error("the MySQL driver does not keep the results of a multi-statement text that failed; applying entry by entry")
		}
	}
	fail := func(err error) (*FSM, error) {
		conn.Close()
		f.b.close()
		return nil, err
	}
	if err := b.checkSettings(ctx, conn); err != nil {
		return fail(err)
	}
	if err := f.noteConn(ctx, conn); err != nil {
		return fail(err)
	}
	if err := ensureApplied(ctx, b, conn); err != nil {
		return fail(err)
	}
	st, err := readApplied(ctx, conn)
	if err != nil {
		return fail(err)
	}
	if cfg.Dialect == sqlcheck.SQLite {
		tables, err := maxRowidTables(ctx, conn)
		if err != nil {
			return fail(fmt.Errorf("sqlfsm: check rowids: %w", err))
		}
		if len(tables) > 0 {
			f.log.Error("tables hold rowid 9223372036854775807: an INSERT without a key into them gets a random rowid that differs between servers; renumber that row",
				"tables", tables)
		}
	}
	f.conn = conn
	f.setApplied(st)
	return f, nil
}

// OneRoundTrip reports whether batches apply in one multi-statement round
// trip (MySQL with Config.ApplyDB, and a driver that keeps the results of
// a text that failed; see applyFast).
func (f *FSM) OneRoundTrip() bool { return f.fast }

// AppliedIndex is the index of the last entry whose effects are committed.
func (f *FSM) AppliedIndex() uint64 { return f.appliedIndex.Load() }

// Restoring reports whether a snapshot restore is replacing the database:
// its tables may be missing or partly loaded until it returns (MySQL DDL is
// not transactional).
func (f *FSM) Restoring() bool { return f.restoring.Load() }

// Dialect is the FSM's SQL dialect.
func (f *FSM) Dialect() sqlcheck.Dialect { return f.b.name() }

// Schema answers schema questions from the local database (for checks).
func (f *FSM) Schema() sqlcheck.SchemaInfo { return f.schema }

// DB is the local database, for reads.
func (f *FSM) DB() *sql.DB { return f.db }

// LastTime is the context time of the newest applied entry; a leader never
// gives a new entry an earlier time, so NOW() never runs backwards across a
// failover to a server with a slower clock.
func (f *FSM) LastTime() time.Time { return time.UnixMicro(f.lastTime.Load()).UTC() }

// Degraded returns the transient fault the FSM is retrying, or nil. It is
// this server's fault: raftlog hands leadership away while it lasts.
func (f *FSM) Degraded() error {
	if p := f.degraded.Load(); p != nil {
		return *p
	}
	return nil
}

// Probe pings the local database (raftlog.Prober): a leader whose
// database went away learns it without an entry to apply, since its
// pre-append reads refuse every write. An error is a fault; ctx running out
// is only slowness (see Stalled).
func (f *FSM) Probe(ctx context.Context) error {
	if err := f.db.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlfsm: probe local database: %w", err)
	}
	return nil
}

// Stalled returns ErrStalled (naming the entries) when a batch has been
// running for longer than Config.StallAfter, or nil. Unlike Degraded it is
// not a reason to hand leadership away: the work is the entry's, and every
// server applying it stalls the same way (moving leadership would only move
// the floating IP back and forth). Operators see it in /status and
// oneha_apply_degraded.
func (f *FSM) Stalled() error {
	if start := f.running.Load(); start != 0 {
		if d := time.Since(time.Unix(0, start)); d > f.cfg.StallAfter {
			return fmt.Errorf("%w: entries %d..%d running for %s", ErrStalled,
				f.runFirst.Load(), f.runLast.Load(), d.Round(time.Second))
		}
	}
	return nil
}

// Settings is the fingerprint of this server's database (see Settings),
// read when the apply connection was last opened. The caller may not modify
// it.
func (f *FSM) Settings() Settings {
	if p := f.settings.Load(); p != nil {
		return *p
	}
	return nil
}

// noteConn records what a newly opened apply connection says about its
// server: the settings fingerprint and (MySQL) its connection id, which
// Close needs to interrupt a running statement.
func (f *FSM) noteConn(ctx context.Context, conn *sql.Conn) error {
	st, err := f.b.settings(ctx, conn)
	if err != nil {
		return err
	}
	st[ApplySemanticsKey] = strconv.Itoa(ApplySemantics)
	f.settings.Store(&st)
	if f.b.name() == sqlcheck.MySQL {
		var id uint64
		if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&id); err != nil {
			return fmt.Errorf("read apply connection id: %w", err)
		}
		f.connID.Store(id)
	}
	return nil
}

// interrupt kills the statement running on the MySQL apply connection, from
// another connection: cancelling the context only drops the client side,
// and the server would run the statement on (holding its locks) while a
// restarted FSM waits for them. The killed statement fails with a transient
// error: not the entry's result, so the entry is applied again later.
//
// id is the connection read before the FSM's context was cancelled: the
// cancellation makes the batch return (client side) while the server still
// runs the statement.
func (f *FSM) interrupt(id uint64) {
	if id == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := f.db.ExecContext(ctx, "KILL QUERY "+strconv.FormatUint(id, 10)); err != nil {
		f.log.Warn("close: could not interrupt the running apply statement", "connection", id, "error", err)
		return
	}
	f.log.Info("close: interrupted the running apply statement", "connection", id,
		"first", f.runFirst.Load(), "last", f.runLast.Load())
}

// TransientFaults counts the apply attempts that failed with a transient
// fault (each was retried; none skipped an entry).
func (f *FSM) TransientFaults() uint64 { return f.faults.Load() }

// Close stops applying: a batch being retried gives up, a statement being
// applied is interrupted (SQLite: by the backend; MySQL: killed on the
// server, see interrupt), its entries stay unapplied, to be replayed on
// restart, and later batches are refused. It does not close Config.DB.
func (f *FSM) Close() error {
	var running uint64
	if f.running.Load() != 0 {
		running = f.connID.Load()
	}
	f.stop()
	f.b.interrupt()
	f.interrupt(running)
	f.audit.wait() // a checksum in progress stops at f.ctx
	f.mu.Lock()
	defer f.mu.Unlock()
	var err error
	if f.conn != nil {
		err = f.conn.Close()
		f.conn = nil
	}
	return errors.Join(err, f.b.close())
}

// openConn opens an apply connection and prepares it for the backend.
func (f *FSM) openConn(ctx context.Context) (*sql.Conn, error) {
	conn, err := f.applyDB.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if err := f.b.setupConn(conn); err != nil {
		conn.Raw(func(any) error { return driverBadConn })
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func (f *FSM) setApplied(st appliedState) {
	f.applied = st
	f.appliedIndex.Store(st.Index)
}

// Apply applies a single log entry.
func (f *FSM) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// applyBatch applies committed entries in one DB transaction (MySQL DDL
// entries excepted) and returns one response per entry: a *Result for
// command entries, nil for entries skipped or carrying no SQL, or an error
// (ErrBadEntry, ErrClosed).
func (f *FSM) applyBatch(logs []*raft.Log) []any {
	resps := make([]any, len(logs))
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(logs) > 0 {
		f.runFirst.Store(logs[0].Index)
		f.runLast.Store(logs[len(logs)-1].Index)
		f.running.Store(time.Now().UnixNano())
		defer f.running.Store(0)
	}
	backoff := f.cfg.RetryMin
	var known map[uint64]*Result // results of entries that lost their batch
	for attempt := 1; ; attempt++ {
		if f.crashed || f.ctx.Err() != nil {
			for i := range resps {
				if resps[i] == nil && logs[i].Index > f.applied.Index {
					resps[i] = ErrClosed
				}
			}
			return resps
		}
		err := f.applyOnce(f.ctx, logs, resps, known)
		if err != nil {
			// Nothing past the applied index was committed: forget the
			// answers the failed attempt computed for those entries.
			for i := range resps {
				if logs[i].Index > f.applied.Index {
					resps[i] = nil
				}
			}
		}
		if lost := (*batchLost)(nil); errors.As(err, &lost) {
			// Deterministic: run the batch again with that entry's
			// result known, so it does not run again.
			if known == nil {
				known = map[uint64]*Result{}
			}
			known[lost.Index] = lost.Result
			attempt--
			continue
		}
		if err == nil {
			if f.degraded.Swap(nil) != nil {
				f.log.Info("apply recovered", "attempts", attempt, "index", f.applied.Index)
			}
			return resps
		}
		if errors.Is(err, ErrCrash) {
			f.crashed = true
			f.log.Warn("injected crash: FSM halted", "index", f.applied.Index)
			continue
		}
		if f.ctx.Err() != nil {
			continue // closing (a statement Close interrupted): answer ErrClosed
		}
		f.degraded.Store(&err)
		f.faults.Add(1)
		f.log.Error("transient apply fault; retrying batch", "err", err, "attempt", attempt,
			"first", logs[0].Index, "last", logs[len(logs)-1].Index, "backoff", backoff)
		f.resetConn()
		select {
		case <-f.ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, f.cfg.RetryMax)
	}
}

// ensureConn opens the apply connection if there is none; opened reports
// that it did (after a fault, or on the first apply).
func (f *FSM) ensureConn(ctx context.Context) (opened bool, err error) {
	if f.conn != nil {
		return false, nil
	}
	conn, err := f.openConn(ctx)
	if err != nil {
		return false, fmt.Errorf("open apply connection: %w", err)
	}
	f.conn = conn
	return true, nil
}

// resetConn drops the apply connection after a fault; applyOnce reopens it.
func (f *FSM) resetConn() {
	if f.conn != nil {
		f.conn.Raw(func(any) error { return driverBadConn })
		f.conn.Close()
		f.conn = nil
	}
}
