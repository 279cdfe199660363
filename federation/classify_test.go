package federation

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/oneha/oneha/sqlcheck"
)

// TestClassifyKeepsFederatedRowsOutOfLocalWrites is the classification
// rule: a transaction on federated tables only is federated, one on local
// tables only is local, and anything that could let one zone's local data
// reach federated rows (a statement naming both, a transaction mixing
// both, a view or trigger over a federated table) is refused before it is
// logged, naming the tables.
func TestClassifyKeepsFederatedRowsOutOfLocalWrites(t *testing.T) {
	fed, err := NewTables([]string{"Extra_Fed"})
	if err != nil {
		t.Fatal(err)
	}
	lister := func(context.Context) ([]string, error) {
		return []string{"vm_pool", "USER_POOL", "host_pool", "extra_fed"}, nil
	}
	for _, tt := range []struct {
		name  string
		stmts []string
		want  Class
		err   string
	}{
		{"local write", []string{"INSERT INTO vm_pool VALUES (1)"}, Local, ""},
		{"federated write", []string{"INSERT INTO user_pool (oid) VALUES (1)", "UPDATE `group_pool` SET name = 'x'"}, Federated, ""},
		{"operator's table, any case", []string{"DELETE FROM EXTRA_FED"}, Federated, ""},
		{"federated DDL", []string{"CREATE TABLE acl (oid INT PRIMARY KEY, body TEXT)"}, Federated, ""},
		{"neutral statement joins either", []string{"UPDATE acl SET body = 'x'", "SELECT 1"}, Federated, ""},
		{"one statement names both", []string{"INSERT INTO user_pool SELECT oid FROM vm_pool"}, Local, "federated table user_pool and local table vm_pool"},
		{"transaction mixes", []string{"INSERT INTO user_pool VALUES (1)", "INSERT INTO host_pool VALUES (1)"}, Local, "local table host_pool"},
		{"new local table beside a federated write", []string{"INSERT INTO acl VALUES (1)", "CREATE TABLE notes (id INT)"}, Local, "creates a table or object that is not federated"},
		{"DDL on two federated tables", []string{"DROP TABLE user_pool, group_pool"}, Local, "DDL naming 2 federated tables"},
		{"view over a federated table", []string{"CREATE VIEW users AS SELECT * FROM user_pool"}, Local, "view or trigger over federated table user_pool"},
		{"trigger writing a federated table", []string{"CREATE TRIGGER t AFTER INSERT ON notes FOR EACH ROW INSERT INTO acl VALUES (1)"}, Local, "view or trigger over federated table acl"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, d := range []sqlcheck.Dialect{sqlcheck.SQLite, sqlcheck.MySQL} {
				got, err := Classify(context.Background(), d, tt.stmts, fed, lister)
				if tt.err != "" {
					if !errors.Is(err, ErrMixed) || !strings.Contains(err.Error(), tt.err) {
						t.Fatalf("%v: err %v, want ErrMixed naming %q", d, err, tt.err)
					}
					continue
				}
				if err != nil || got != tt.want {
					t.Fatalf("%v: class %v err %v, want %v", d, got, err, tt.want)
				}
			}
		})
	}
}

// TestZonesMustDeclareTheSameTables: a mismatch names the tables each side
// lacks; names that are not plain identifiers, or OneHA's own, are refused.
func TestZonesMustDeclareTheSameTables(t *testing.T) {
	a, _ := NewTables([]string{"extra"})
	b, _ := NewTables(nil)
	if err := Same(a, a); err != nil {
		t.Fatal(err)
	}
	err := Same(b, a)
	if !errors.Is(err, ErrTables) || !strings.Contains(err.Error(), "only on the master: [extra]") {
		t.Fatalf("Same = %v", err)
	}
	if got, err := ParseList(a.String()); err != nil || Same(got, a) != nil {
		t.Fatalf("ParseList(String) = %v, %v", got, err)
	}
	for _, bad := range []string{"oneha_zone", "a b", "x;drop", ""} {
		if _, err := NewTables([]string{bad}); !errors.Is(err, ErrTables) {
			t.Fatalf("NewTables(%q) = %v, want ErrTables", bad, err)
		}
	}
}
