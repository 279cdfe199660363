//go:build !unix

package zoneca

import "os"

// copyOwner is a no-op where files have no Unix owner.
func copyOwner(*os.File, string) error { return nil }
