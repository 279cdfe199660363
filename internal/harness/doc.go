// Package harness is OneHA's shared test harness: private MariaDB instances
// today; later whole clusters and network-namespace hosts.
//
// It is imported only from _test.go files. Everything here either works or
// ends the test: helpers take a testing.TB and call tb.Fatal on error, so
// callers never handle errors from them.
//
// Rules every helper follows:
//   - nothing outlives the test binary: each process it starts is tied to the
//     test by tb.Cleanup and, as a last resort, by Pdeathsig (SIGKILL when
//     the test process dies, even on panic or -timeout);
//   - a missing external dependency (a binary, privileges) is reported by
//     RequireOrSkip: a skip on a developer machine, a failure in CI (CI=true),
//     because a skipped test passes CI silently.
package harness
