package oned

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"
)

// ErrAuth: the session string does not match oneadmin's credentials.
var ErrAuth = errors.New("User couldn't be authenticated, aborting call.")

// credentials are oneadmin's "user:password" from ONE_AUTH; servers use the
// same to call each other.
type credentials struct{ user, password string }

func loadCredentials(path string) (credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return credentials{}, fmt.Errorf("%w: ONE_AUTH: %w", ErrConfig, err)
	}
	line := strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	user, pass, ok := strings.Cut(line, ":")
	if !ok || user == "" || pass == "" {
		return credentials{}, fmt.Errorf("%w: ONE_AUTH: %s must hold user:password", ErrConfig, path)
	}
	return credentials{user, pass}, nil
}

// session is the string servers send when they call each other.
func (c credentials) session() string { return c.user + ":" + c.password }

// check compares a client's session string in constant time.
func (c credentials) check(session string) error {
	if subtle.ConstantTimeCompare([]byte(session), []byte(c.session())) != 1 {
		return ErrAuth
	}
	return nil
}

// WarnIfReadable logs at Warn when the file at path (named by key, e.g.
// ONE_AUTH), which holds secrets, is readable by everyone, or by a group
// other than the one oned runs as (make install gives oned.yaml mode 0640,
// group oneadmin, on purpose).
func WarnIfReadable(log *slog.Logger, key, path string) {
	fi, err := os.Stat(path)
	if err != nil {
		return
	}
	mode := fi.Mode().Perm()
	otherGroup := true
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Gid) == os.Getegid() {
		otherGroup = false
	}
	if mode&0o007 != 0 || (mode&0o070 != 0 && otherGroup) {
		log.Warn(fmt.Sprintf("%s holds secrets but is readable by others than its owner; chmod 600 it", key),
			"file", path, "mode", fmt.Sprintf("%#o", mode))
	}
}
