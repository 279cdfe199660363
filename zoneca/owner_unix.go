//go:build unix

package zoneca

import (
	"fmt"
	"os"
	"syscall"
)

// copyOwner gives f the owner and group of the file like, so that a file an
// administrator rewrites as root stays readable by the service user (oned
// runs as oneadmin and refuses keys it cannot read). A no-op when they
// already match; an error when the caller may not chown.
func copyOwner(f *os.File, like string) error {
	st, err := os.Stat(like)
	if err != nil {
		return fmt.Errorf("zoneca: %w", err)
	}
	want, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	cur, err := f.Stat()
	if err != nil {
		return fmt.Errorf("zoneca: %w", err)
	}
	if have, ok := cur.Sys().(*syscall.Stat_t); ok && have.Uid == want.Uid && have.Gid == want.Gid {
		return nil
	}
	if err := f.Chown(int(want.Uid), int(want.Gid)); err != nil {
		return fmt.Errorf("zoneca: %s belongs to uid %d: run this as that user (e.g. sudo -u oneadmin): %w", like, want.Uid, err)
	}
	return nil
}
