package oned

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"strings"
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
