package federation

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Modes of FEDERATION.MODE.
const (
	Standalone = "STANDALONE"
	Master     = "MASTER"
	Slave      = "SLAVE"
)

// DefaultTables are OpenNebula's federated tables (onedb_backend.rb,
// FEDERATED_TABLES).
var DefaultTables = []string{"group_pool", "user_pool", "acl", "zone_pool", "vdc_pool",
	"marketplace_pool", "marketplaceapp_pool", "db_versioning"}

// ErrTables: a federated table list is malformed, or differs between zones.
var ErrTables = errors.New("federated tables")

// Tables is a set of federated table names, lowercased.
type Tables map[string]bool

// NewTables is DefaultTables plus extra. A name must be a plain SQL
// identifier of 1..64 characters ([A-Za-z0-9_$]) and must not be one of
// OneHA's own tables (oneha_*).
func NewTables(extra []string) (Tables, error) {
	t := Tables{}
	for _, n := range append(slices.Clone(DefaultTables), extra...) {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" || len(n) > 64 || strings.HasPrefix(n, "oneha_") || strings.Trim(n, "abcdefghijklmnopqrstuvwxyz0123456789_$") != "" {
			return nil, fmt.Errorf("%w: %q is not a table name a client can write", ErrTables, n)
		}
		t[n] = true
	}
	return t, nil
}

// List is the sorted names.
func (t Tables) List() []string {
	out := make([]string, 0, len(t))
	for n := range t {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// String is List joined by commas: how zones compare their lists.
func (t Tables) String() string { return strings.Join(t.List(), ",") }

// ParseList reads a String.
func ParseList(s string) (Tables, error) {
	t := Tables{}
	for _, n := range strings.Split(s, ",") {
		if n = strings.TrimSpace(n); n != "" {
			t[strings.ToLower(n)] = true
		}
	}
	if len(t) == 0 {
		return nil, fmt.Errorf("%w: empty list", ErrTables)
	}
	return t, nil
}

// Diff lists the names only in a and only in b (case-insensitive),
// sorted.
func Diff(a, b []string) (onlyA, onlyB []string) {
	in := func(list []string) map[string]bool {
		m := map[string]bool{}
		for _, n := range list {
			m[strings.ToLower(n)] = true
		}
		return m
	}
	ma, mb := in(a), in(b)
	for n := range ma {
		if !mb[n] {
			onlyA = append(onlyA, n)
		}
	}
	for n := range mb {
		if !ma[n] {
			onlyB = append(onlyB, n)
		}
	}
	slices.Sort(onlyA)
	slices.Sort(onlyB)
	return onlyA, onlyB
}

// Same returns nil when mine and theirs hold the same tables, else an
// error naming the tables only one side declares.
func Same(mine, theirs Tables) error {
	onlyMine, onlyTheirs := Diff(mine.List(), theirs.List())
	if len(onlyMine)+len(onlyTheirs) == 0 {
		return nil
	}
	return fmt.Errorf("%w differ between zones: only here: [%s]; only on the master: [%s]; declare the same FEDERATED_TABLES in every zone",
		ErrTables, strings.Join(onlyMine, " "), strings.Join(onlyTheirs, " "))
}
