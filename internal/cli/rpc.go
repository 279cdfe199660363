package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/oneha/oneha/xmlrpc"
)

// Caller calls an XML-RPC method and returns the decoded response value.
// *xmlrpc.Client satisfies it.
type Caller interface {
	Call(ctx context.Context, method string, params ...any) (any, error)
}

// Dialer returns a Caller for an endpoint URL with a per-call timeout.
type Dialer func(url string, timeout time.Duration) Caller

// MaxResponse bounds a response body: a query result or zone pool can be
// far larger than the server-side request limit.
const MaxResponse = 256 << 20

// HTTPDialer is the default Dialer: an xmlrpc.Client.
func HTTPDialer(url string, timeout time.Duration) Caller {
	c := xmlrpc.NewClient(url, timeout)
	c.MaxBody = MaxResponse
	return c
}

// RemoteError is an OpenNebula failure answer. Its message is the one the
// server sent ("[one.zone.info] Error getting zone [5]."), as OpenNebula's
// CLIs print it; errors.As still finds the *xmlrpc.Error.
type RemoteError struct{ Err *xmlrpc.Error }

func (e *RemoteError) Error() string { return e.Err.Message }

// Unwrap returns the *xmlrpc.Error.
func (e *RemoteError) Unwrap() error { return e.Err }

// result unpacks an OpenNebula answer [ok, value, code, ...].
func result(v any) (any, error) {
	v, err := xmlrpc.Result(v)
	var oe *xmlrpc.Error
	if errors.As(err, &oe) {
		return nil, &RemoteError{Err: oe}
	}
	return v, err
}

// transportError phrases a failed call for an operator: which endpoint
// could not be reached and why, without net/http's `Post "url":` noise.
func transportError(endpoint, method string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return fmt.Errorf("cannot reach %s: %w", endpoint, ue.Err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("cannot reach %s: %w", endpoint, err)
	}
	return fmt.Errorf("%s at %s: %w", method, endpoint, err)
}
