//go:build unix

package zoneca

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// TestZoneCARotationKeepsTheFolderOwner: run as root (as an administrator
// may), every step leaves the files owned by the folder's user, so oned,
// running as that user, can still read its key.
func TestZoneCARotationKeepsTheFolderOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the folder to another user")
	}
	f, _ := newRotFolder(t)
	const uid, gid = 65534, 65534
	for _, p := range []string{f.crt, f.key} {
		if err := os.Chown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	for step := RotateTrust; step <= RotateDrop; step++ {
		if _, err := RotateCA(f.crt, f.key, step, time.Now()); err != nil {
			t.Fatal(err)
		}
		for p := range f.snapshot(t) {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if s := st.Sys().(*syscall.Stat_t); s.Uid != uid || s.Gid != gid {
				t.Errorf("step %d: %s owned by %d:%d, want %d:%d", step, p, s.Uid, s.Gid, uid, gid)
			}
		}
	}
}
