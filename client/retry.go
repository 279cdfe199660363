package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/oneha/oneha/xmlrpc"
)

// class is what a failed attempt allows.
type class uint8

const (
	fatal      class = iota // never resent
	notApplied              // nothing was logged: resending is safe
	unknown                 // may have been logged: resend reads and writes with a request id only
)

// classify sorts a failed attempt (see the package doc's retry table).
func classify(err error) class {
	if e, ok := errors.AsType[*xmlrpc.Error](err); ok {
		switch {
		case xmlrpc.RetrySafe(e):
			return notApplied
		case xmlrpc.OutcomeUnknown(e):
			return unknown
		}
		return fatal
	}
	ce, ok := errors.AsType[*callError](err)
	if !ok {
		return fatal
	}
	switch {
	case ce.status == http.StatusServiceUnavailable:
		return notApplied // oned's request budget refuses before reading the call
	case ce.status >= 500:
		return unknown // a proxy's 502/504: the request may have reached oned
	case ce.status != 0:
		return fatal
	case !ce.transport:
		return fatal // a fault, a malformed [ok, value, code]
	}
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	if errors.As(err, &certErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) {
		return fatal // retrying cannot fix a certificate
	}
	if errors.Is(err, xmlrpc.ErrTooLarge) {
		return fatal // the same answer would be as large
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return notApplied // no connection: nothing was sent
	}
	return unknown
}

// sleep waits before retry n (n ≥ 1): a random duration in [d/2, d],
// d = min(cap, base·2ⁿ). It returns the context's error if it ends first.
func (c *Client) sleep(ctx context.Context, n int) error {
	d := c.cap
	if n < 30 && c.base<<n < c.cap {
		d = c.base << n
	}
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
