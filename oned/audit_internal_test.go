package oned

import (
	"testing"

	"github.com/oneha/oneha/backup"
)

// TestDifferingTableNamesTheFirstDifference: a changed digest, a table only
// one side has, or none; the first by name is named.
func TestDifferingTableNamesTheFirstDifference(t *testing.T) {
	sums := func(kv ...string) []backup.TableSum {
		var out []backup.TableSum
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, backup.TableSum{Table: kv[i], Digest: kv[i+1]})
		}
		return out
	}
	for _, c := range []struct {
		a, b []backup.TableSum
		want string
	}{
		{sums("host_pool", "1", "vm_pool", "2"), sums("host_pool", "1", "vm_pool", "2"), ""},
		{sums("host_pool", "1", "vm_pool", "2"), sums("host_pool", "1", "vm_pool", "3"), "vm_pool"},
		{sums("host_pool", "1", "vm_pool", "2"), sums("host_pool", "9", "vm_pool", "3"), "host_pool"},
		{sums("host_pool", "1", "vm_pool", "2"), sums("vm_pool", "2"), "host_pool"},
		{sums("vm_pool", "2"), sums("acl", "0", "vm_pool", "2"), "acl"},
		{nil, nil, ""},
	} {
		if got := differingTable(c.a, c.b); got != c.want {
			t.Errorf("differingTable(%v, %v) = %q, want %q", c.a, c.b, got, c.want)
		}
	}
}
