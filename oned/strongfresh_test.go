package oned_test

import (
	"testing"

	"github.com/oneha/oneha/internal/harness"
)

// TestStrongReadOnAFreshOneServerZone: right after the seed's first step
// (a one-server zone, nothing written through it yet) a strong read answers.
func TestStrongReadOnAFreshOneServerZone(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 1})
	z.FormFirst()
	v := call(t, z.Servers[0], "one.sql.query", "SELECT 1", []any{}, "strong")
	if n := v.(map[string]any)["ROWS"].([]any)[0].([]any)[0].(int64); n != 1 {
		t.Fatalf("SELECT 1 = %d", n)
	}
}
