// Package report measures OneHA end to end and writes the results as a
// Markdown report with PNG plots (make bench-report).
//
// The package itself is pure: result types, percentiles, the Markdown
// rendering and the plots (gonum.org/v1/plot). The measuring driver is the
// test TestBenchReport, which runs only with ONEHA_BENCH_REPORT=1 because it
// takes minutes and starts real oned processes and MariaDB:
//
//   - write throughput and p50/p99 latency of single-row INSERTs sent as
//     XML-RPC one.sql.exec by 1/16/64/256 concurrent Go clients (one
//     keep-alive connection each) to the leader of a 3- and a 5-server zone
//     and, through the very same client path, to a solo oned (SERVER_ID -1,
//     writing straight to its database) — on SQLite and on MariaDB;
//   - the leader oned's RSS (VmRSS) during the 64-writer run;
//   - the failover-time distribution (leader SIGKILL to the first write
//     through the floating IP, from deploy/lab's BenchmarkFailover; a
//     loopback approximation when the namespace lab is unavailable);
//   - the time for a new, empty server to become a caught-up voter on a
//     large MariaDB database, against mariadb-dump | mariadb of the same data.
//
// Environment: ONEHA_RESULTS (output directory, default <module>/results),
// ONEHA_BENCH_SECONDS (per cell, default 5), ONEHA_BENCH_WRITERS (default
// "1,16,64,256"), ONEHA_CATCHUP_MB (default 1024), ONEHA_FAILOVER_RUNS (for
// the loopback fallback, default 20), ONEHA_BENCH_PARTS (subset of
// "writes,failover,catchup", default all).
package report
