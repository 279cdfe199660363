package sqlfsm

import "testing"

func TestOnlyWritesWithAQueryAreTried(t *testing.T) {
	for q, want := range map[string]bool{
		"UPDATE vm SET name = ? WHERE oid = ?":                       false,
		"INSERT INTO vm (oid, body) VALUES (?, ?)":                   false,
		"DELETE FROM vm WHERE oid = 7":                               false,
		"INSERT INTO a (x) SELECT x FROM b":                          true,
		"update vm set n = (select count(*) from big) where oid = 1": true,
		"WITH c AS (SELECT 1) UPDATE vm SET n = 1 WHERE oid = 1":     true,
		"UPDATE vm SET n = 1 WHERE oid IN (SeLeCt oid FROM other)":   true,
	} {
		if got := needsTrial(&Entry{Statements: []Statement{{SQL: q}}}); got != want {
			t.Errorf("needsTrial(%q) = %v, want %v", q, got, want)
		}
	}
	if needsTrial(&Entry{DDL: true, Statements: []Statement{{SQL: "CREATE TABLE t AS SELECT 1"}}}) {
		t.Error("DDL is tried")
	}
}

// BenchmarkNeedsTrial: what a single-row key write pays for the trial
// decision (no trial runs for it).
func BenchmarkNeedsTrial(b *testing.B) {
	e := &Entry{Statements: []Statement{{SQL: "UPDATE vm_pool SET body = ?, uid = ?, gid = ?, state = ?, lcm_state = ? WHERE oid = ?"}}}
	b.ReportAllocs()
	for b.Loop() {
		if needsTrial(e) {
			b.Fatal("tried")
		}
	}
}
