package federation

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/backup"
	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
)

// TestSnapshotCheckAcceptsOnlyWhatASnapshotHolds: the dump a master
// writes of its federated tables passes, on both engines, with awkward
// values; a dump that would run anything else on the slave's servers (a
// non-literal value, a local or OneHA table, another kind of statement)
// is refused before it is logged.
func TestSnapshotCheckAcceptsOnlyWhatASnapshotHolds(t *testing.T) {
	fed, _ := NewTables(nil)
	for _, d := range []sqlcheck.Dialect{sqlcheck.SQLite, sqlcheck.MySQL} {
		t.Run(string(d), func(t *testing.T) {
			l := harness.OpenLocal(t, d, nil, false)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			for _, q := range []string{
				"CREATE TABLE user_pool (oid INT PRIMARY KEY, name VARCHAR(64), body TEXT, bin BLOB, f DOUBLE)",
				"CREATE INDEX user_name ON user_pool (name)",
				"INSERT INTO user_pool VALUES (-1, 'it''s \"x\"; DROP TABLE vm_pool', NULL, X'00FF27', -2.5)",
				"INSERT INTO user_pool VALUES (2, 'oneha_applied', 'UUID()', NULL, 1e3)",
				"CREATE TABLE vm_pool (oid INT PRIMARY KEY)",
			} {
				if _, err := l.DB.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			snap, err := backup.Begin(ctx, l.DB, d, backup.Options{Only: fed.List()})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if _, err := snap.Write(ctx, &buf); err != nil {
				t.Fatal(err)
			}
			snap.Close()
			dump := buf.String()
			if err := CheckSnapshot(d, dump, fed); err != nil {
				t.Fatalf("a real snapshot is refused: %v\n%s", err, dump)
			}
			for _, bad := range []string{
				"INSERT INTO user_pool VALUES (3, UUID(), NULL, NULL, 0);",
				"INSERT INTO user_pool VALUES (3, (SELECT name FROM vm_pool), NULL, NULL, 0);",
				"DROP TABLE IF EXISTS vm_pool;",
				"INSERT INTO vm_pool VALUES (1);",
				"UPDATE user_pool SET name = 'x';",
				"CREATE TABLE oneha_applied (id INT);",
				"INSERT INTO user_pool VALUES (4, 'a', 'b', NULL, 0) ON DUPLICATE KEY UPDATE name = NOW();",
				"CREATE TRIGGER t AFTER INSERT ON user_pool BEGIN DELETE FROM vm_pool; END;",
				"SET SESSION sql_mode = '';",
			} {
				hostile := strings.Replace(dump, "\n-- OneHA dump end", "\n"+bad+"\n-- OneHA dump end", 1)
				if err := CheckSnapshot(d, hostile, fed); !errors.Is(err, ErrBadSnapshot) {
					t.Fatalf("a dump with %q passed: %v", bad, err)
				}
			}
		})
	}
}
