package backup_test

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/oneha/oneha/backup"
)

// BenchmarkDump dumps 100k rows (about 20 MB of SQL) per iteration; MB/s is
// dump text produced per second.
func BenchmarkDump(b *testing.B) {
	const rows = 100_000
	for _, d := range dialects {
		b.Run(string(d), func(b *testing.B) {
			db := openDB(b, d)
			execAll(b, db, "CREATE TABLE vm (id BIGINT PRIMARY KEY, name VARCHAR(128), state INT, body TEXT, payload BLOB, price DECIMAL(12,4))")
			ctx := ctxFor(b)
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				b.Fatal(err)
			}
			const batch = 1000
			for i := 0; i < rows; i += batch {
				var sb strings.Builder
				sb.WriteString("INSERT INTO vm VALUES ")
				for j := i; j < i+batch; j++ {
					if j > i {
						sb.WriteByte(',')
					}
					fmt.Fprintf(&sb, "(%d,'vm-%d',%d,'<VM><ID>%d</ID><NAME>it''s \"vm\"</NAME></VM>',X'%064x',%d.1234)", j, j, j%7, j, j, j)
				}
				if _, err := tx.ExecContext(ctx, sb.String()); err != nil {
					b.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				s, err := backup.Begin(ctx, db, d, opt)
				if err != nil {
					b.Fatal(err)
				}
				n, err := s.Write(ctx, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
				s.Close()
				b.SetBytes(n)
			}
		})
	}
}
