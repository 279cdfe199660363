// Package bench holds OneHA's end-to-end benchmarks: replicated writes
// through a 3-server cluster against the same writers on one MariaDB, the
// leader's write stages, and writes through the API side by side with
// direct MariaDB (BenchmarkAPISideBySide: throughput, latency, CPU and
// system calls per write), and a zone's term under CPU starvation
// (BenchmarkTermUnderCPULoad: no spurious election). It has no production code; run it with
// `make bench`.
package bench
