//go:build !unix

package zoneca

// lockFile is a no-op where flock does not exist; writeNewFile's link still
// never replaces a file, so concurrent creators fail instead of diverging.
func lockFile(path string) (unlock func(), err error) { return func() {}, nil }
