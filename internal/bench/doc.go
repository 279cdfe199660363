// Package bench holds OneHA's end-to-end benchmarks: replicated writes
// through a 3-server cluster against the same writers on one MariaDB.
// It has no production code; run it with `make bench`.
package bench
