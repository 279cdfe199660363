package sqlfsm_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// TestSchemaUniqueKeyColumnsAreTotalOrderKeys: the leader's schema answers
// list the PRIMARY KEY and the UNIQUE keys whose columns are all NOT NULL,
// and leave out nullable, prefix, partial and re-collated keys, on a real
// database of each backend.
func TestSchemaUniqueKeyColumnsAreTotalOrderKeys(t *testing.T) {
	ddl := map[sqlcheck.Dialect][]string{
		sqlcheck.MySQL: {
			"CREATE TABLE k1 (id INT NOT NULL, a INT, b VARCHAR(20) NOT NULL, c VARCHAR(40) NOT NULL, n INT, PRIMARY KEY (id), UNIQUE KEY ua (a), UNIQUE KEY ub (b), UNIQUE KEY uc (c(10)), UNIQUE KEY ubn (b, n))",
			"CREATE TABLE k2 (x VARCHAR(10) NOT NULL, y INT NOT NULL, PRIMARY KEY (x, y))",
			"CREATE TABLE k3 (x VARCHAR(10) PRIMARY KEY)",
			"CREATE TABLE k4 (a INT, KEY ia (a))",
		},
		sqlcheck.SQLite: {
			"CREATE TABLE k1 (id INTEGER PRIMARY KEY, a INT UNIQUE, b TEXT NOT NULL UNIQUE, c TEXT NOT NULL, n INT, UNIQUE (b, n))",
			"CREATE UNIQUE INDEX uc ON k1 (c COLLATE NOCASE)",
			"CREATE UNIQUE INDEX up ON k1 (c) WHERE n > 0",
			"CREATE TABLE k2 (x TEXT NOT NULL, y INT NOT NULL, PRIMARY KEY (x, y))",
			"CREATE TABLE k3 (x TEXT PRIMARY KEY)", // SQLite lets such a key hold NULLs
			"CREATE TABLE k4 (a INT)",
		},
	}
	want := map[sqlcheck.Dialect]map[string]string{
		sqlcheck.MySQL:  {"k1": "[b] [id]", "k2": "[x y]", "k3": "[x]", "k4": "", "missing": ""},
		sqlcheck.SQLite: {"k1": "[b] [id]", "k2": "[x y]", "k3": "", "k4": "", "missing": ""},
	}
	for _, d := range []sqlcheck.Dialect{sqlcheck.SQLite, sqlcheck.MySQL} {
		t.Run(string(d), func(t *testing.T) {
			local := harness.OpenLocal(t, d, nil, false)
			ctx := harness.Ctx(t, 30*time.Second)
			for _, q := range ddl[d] {
				if _, err := local.DB.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			f, err := sqlfsm.New(ctx, sqlfsm.Config{Dialect: d, DB: local.DB})
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for table, w := range want[d] {
				keys, err := f.Schema().UniqueKeyColumns(ctx, table)
				if err != nil {
					t.Fatalf("%s: %v", table, err)
				}
				var got []string
				for _, k := range keys {
					got = append(got, fmt.Sprint(k))
				}
				slices.Sort(got)
				if g := strings.Join(got, " "); g != w {
					t.Errorf("%s: keys %q, want %q", table, g, w)
				}
			}
		})
	}
}
