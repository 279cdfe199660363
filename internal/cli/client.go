package cli

import (
	"errors"
	"strings"
	"time"

	"github.com/oneha/oneha/client"
	"github.com/oneha/oneha/xmlrpc"
)

// MaxResponse bounds a response body: a query result or zone pool can be
// far larger than the server-side request limit.
const MaxResponse = 256 << 20

// Retry policy of the CLIs' clients: up to 8 attempts, waits of at most
// one second (about 4 s of waiting in all), each attempt bounded by the
// session's --timeout.
const (
	ClientAttempts   = 8
	ClientMaxBackoff = time.Second
)

// Client returns a client.Client for the session: its endpoint first, then
// extra ones (other servers of the zone, e.g. the ENDPOINTs of one.zone.info,
// for leader discovery and failover), its credentials, --timeout per
// attempt, its TLS configuration and MaxResponse. Close it when done.
func (s *Session) Client(extra ...string) (*client.Client, error) {
	eps := append([]string{s.Endpoint}, extra...)
	return client.New(client.Options{
		Endpoints:   eps,
		Auth:        s.Auth,
		TLS:         s.TLS,
		Timeout:     s.Timeout,
		MaxBody:     MaxResponse,
		MaxAttempts: ClientAttempts,
		MaxBackoff:  ClientMaxBackoff,
	})
}

// ClientError phrases a client error as OpenNebula's CLIs print failures:
// an OpenNebula failure answer by its message ("[one.sql.exec] …") instead
// of goca's "OpenNebula error [CODE]: " form, with what the client adds
// around it (attempts, outcome). errors.Is/As see the same chain.
func ClientError(err error) error {
	if err == nil {
		return nil
	}
	return &clientError{err}
}

type clientError struct{ err error }

func (e *clientError) Error() string {
	msg := e.err.Error()
	if oe, ok := errors.AsType[*xmlrpc.Error](e.err); ok {
		msg = strings.Replace(msg, oe.Error(), oe.Message, 1)
	}
	return msg
}

func (e *clientError) Unwrap() error { return e.err }
