// Package sqlchecktest holds a map-backed schema for tests of code that
// asks sqlcheck's schema questions (sqlcheck.SchemaInfo).
package sqlchecktest

import (
	"context"
	"errors"
)

// ErrSchema is what Schema answers for a table listed in Fail.
var ErrSchema = errors.New("schema lookup failed")

// Schema answers sqlcheck.SchemaInfo from maps keyed by table name; a table
// in Fail errors with ErrSchema.
type Schema struct {
	AutoInc map[string]bool
	Unique  map[string]int
	Keys    map[string][][]string
	Fail    map[string]bool
}

// HasAutoIncrement reports AutoInc[table].
func (s Schema) HasAutoIncrement(_ context.Context, table string) (bool, error) {
	if s.Fail[table] {
		return false, ErrSchema
	}
	return s.AutoInc[table], nil
}

// UniqueKeys reports Unique[table].
func (s Schema) UniqueKeys(_ context.Context, table string) (int, error) {
	if s.Fail[table] {
		return 0, ErrSchema
	}
	return s.Unique[table], nil
}

// UniqueKeyColumns reports Keys[table].
func (s Schema) UniqueKeyColumns(_ context.Context, table string) ([][]string, error) {
	if s.Fail[table] {
		return nil, ErrSchema
	}
	return s.Keys[table], nil
}
