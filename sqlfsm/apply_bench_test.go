package sqlfsm

import (
	"context"
	"testing"
	"time"

	"github.com/oneha/oneha/sqlcheck"
)

// The leader's and the apply path's CPU per entry, without a database:
// check, encode, decode, inline and bind, as for internal/bench's INSERT.

const benchInsert = "INSERT INTO bench (w, seq, payload) VALUES (?, ?, ?)"

// BenchmarkCheckEntry: the leader's check of one INSERT, without and with
// the FSM's text cache.
func BenchmarkCheckEntry(b *testing.B) {
	ctx := context.Background()
	for _, bc := range []struct {
		name string
		tc   *textCache
	}{{"uncached", nil}, {"cached", newTextCache()}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				stmts := []Statement{{SQL: benchInsert, Params: []any{int64(3), int64(i), "payload-payload-payload"}}}
				if _, err := checkEntry(ctx, bc.tc, sqlcheck.MySQL, stmts, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkApplyScript(b *testing.B) {
	e := &Entry{Context: Context{Time: time.Date(2026, 11, 25, 12, 0, 0, 123000, time.UTC), Seed1: 12345, Seed2: 67890},
		Statements: []Statement{{SQL: benchInsert, Params: []any{int64(3), int64(42), "payload-payload-payload"}}}}
	data, err := Encode(e)
	if err != nil {
		b.Fatal(err)
	}
	tc := newTextCache()
	b.ReportAllocs()
	for b.Loop() {
		d, err := Decode(data)
		if err != nil {
			b.Fatal(err)
		}
		_ = mysqlBindSQL(d.Context)
		if _, err := inlineMySQL(tc, d.Statements[0].SQL, d.Statements[0].Params); err != nil {
			b.Fatal(err)
		}
	}
}
