package oned

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// LockFile is the file under DATA_DIR that a running oned holds an
// exclusive flock on.
const LockFile = "oned.lock"

// LockDataDir takes an exclusive lock on DATA_DIR/LockFile, held for the
// life of the returned file; a busy lock is retried for up to lockWait, then
// it answers ErrLocked. onedb restore flocks the same
// file (its own LockOned) to refuse restoring under a running oned.
func LockDataDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	// A lock just released can stay held for a moment by a process forked
	// from the releasing one (the lock belongs to the open file, which the
	// child holds until it execs), so a busy lock is retried briefly.
	deadline := time.Now().Add(lockWait)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%w: %s", ErrLocked, dir)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lockWait bounds how long LockDataDir retries a busy lock.
const lockWait = 2 * time.Second
