package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/oneha/oneha/xmlrpc"
)

// Defaults of Options.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxAttempts  = 8
	DefaultBaseBackoff  = 50 * time.Millisecond
	DefaultMaxBackoff   = 2 * time.Second
	DefaultProbeTimeout = 2 * time.Second
	DefaultMaxIdleConns = 4 // per server
	// MaxEndpoints bounds Options.Endpoints (a zone has a handful of servers).
	MaxEndpoints = 64
	// MaxAttemptsLimit bounds Options.MaxAttempts.
	MaxAttemptsLimit = 100
)

// Sentinel errors.
var (
	// ErrOptions marks invalid Options.
	ErrOptions = errors.New("client: invalid options")
	// ErrOutcomeUnknown marks a write that may or may not have been
	// applied: send it again only with the same request id, or read to find
	// out. The server's answer or transport error is wrapped too.
	ErrOutcomeUnknown = errors.New("outcome unknown")
	// ErrNotApplied marks a call given up after attempts that were all
	// refused before anything was logged: nothing was applied.
	ErrNotApplied = errors.New("not applied")
	// ErrHTTP marks an answer whose HTTP status is not 200 OK.
	ErrHTTP = errors.New("client: unexpected HTTP status")
	// ErrMalformed marks an answer that is not what the method returns.
	ErrMalformed = errors.New("client: malformed answer")
)

// Options configure a Client. Only Endpoints and Auth are required.
type Options struct {
	// Endpoints are the XML-RPC URLs of the zone's servers
	// (http[s]://host:2633/RPC2), or a single VIP / load balancer URL.
	Endpoints []string
	// Auth is "user:password", the session string of every call.
	Auth string
	// HTTPClient performs the requests. Nil: the Client builds its own, one
	// keep-alive transport with TLS (below) and MaxIdleConns idle
	// connections per server, closed by Close. A caller's client is used as
	// is (its Timeout, if any, applies on top of Timeout).
	HTTPClient *http.Client
	// TLS configures https:// endpoints when HTTPClient is nil (nil: the
	// system roots).
	TLS *tls.Config
	// Timeout bounds one attempt (DefaultTimeout if ≤ 0); the context passed
	// to each call bounds the whole call, retries included.
	Timeout time.Duration
	// MaxBody bounds an answer's size (xmlrpc.DefaultMaxBody if ≤ 0).
	MaxBody int64
	// MaxAttempts bounds the attempts of one call, the first included
	// (DefaultMaxAttempts if ≤ 0; 1: never retry; at most MaxAttemptsLimit).
	MaxAttempts int
	// BaseBackoff and MaxBackoff shape the wait before retry n: a random
	// duration in [d/2, d], d = min(MaxBackoff, BaseBackoff·2ⁿ).
	BaseBackoff, MaxBackoff time.Duration
	// ProbeTimeout bounds a leader probe (GET /leader on every server).
	ProbeTimeout time.Duration
	// MaxIdleConns is the idle keep-alive connections kept per server.
	MaxIdleConns int
}

// endpoint is one server: its XML-RPC URL and its GET /leader URL.
type endpoint struct {
	rpc, leader string
}

// Client calls one zone. It is safe for concurrent use; its only mutable
// state is the cached leader and the rotation of fallback targets.
type Client struct {
	eps         []endpoint
	auth        string
	hc          *http.Client
	own         *http.Transport // nil when the caller gave HTTPClient
	timeout     time.Duration
	maxBody     int64
	maxAttempts int
	base, cap   time.Duration
	probe       time.Duration
	probes      singleflight.Group

	mu     sync.Mutex
	leader int // index into eps; -1: unknown
	next   int // next fallback target when no leader is known
	home   int // stale reads' target
}

// New checks opts and returns a Client. It does not contact the zone.
func New(opts Options) (*Client, error) {
	if len(opts.Endpoints) == 0 || len(opts.Endpoints) > MaxEndpoints {
		return nil, fmt.Errorf("%w: want 1 to %d endpoints, got %d", ErrOptions, MaxEndpoints, len(opts.Endpoints))
	}
	user, pass, ok := strings.Cut(opts.Auth, ":")
	if !ok || user == "" || pass == "" {
		return nil, fmt.Errorf("%w: Auth must be \"user:password\"", ErrOptions)
	}
	if opts.MaxAttempts > MaxAttemptsLimit {
		return nil, fmt.Errorf("%w: MaxAttempts %d above %d", ErrOptions, opts.MaxAttempts, MaxAttemptsLimit)
	}
	c := &Client{
		auth:        opts.Auth,
		hc:          opts.HTTPClient,
		timeout:     positive(opts.Timeout, DefaultTimeout),
		maxBody:     opts.MaxBody,
		maxAttempts: opts.MaxAttempts,
		base:        positive(opts.BaseBackoff, DefaultBaseBackoff),
		cap:         positive(opts.MaxBackoff, DefaultMaxBackoff),
		probe:       positive(opts.ProbeTimeout, DefaultProbeTimeout),
		leader:      -1,
	}
	if c.maxBody <= 0 {
		c.maxBody = xmlrpc.DefaultMaxBody
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	for _, raw := range opts.Endpoints {
		ep, err := parseEndpoint(raw)
		if err != nil {
			return nil, err
		}
		c.eps = append(c.eps, ep)
	}
	if c.hc == nil {
		idle := opts.MaxIdleConns
		if idle <= 0 {
			idle = DefaultMaxIdleConns
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = opts.TLS
		tr.MaxIdleConnsPerHost = idle
		tr.MaxIdleConns = idle * len(c.eps)
		tr.IdleConnTimeout = 90 * time.Second
		c.own = tr
		c.hc = &http.Client{
			Transport: tr,
			// A redirect would resend the call somewhere unvetted.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return c, nil
}

func positive(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// parseEndpoint checks an XML-RPC URL and derives its /leader URL (same
// scheme, host and port; the path's last element replaced).
func parseEndpoint(raw string) (endpoint, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return endpoint{}, fmt.Errorf("%w: endpoint %q: want http[s]://host:port/RPC2", ErrOptions, raw)
	}
	l := *u
	l.RawQuery, l.Fragment = "", ""
	dir := u.Path[:strings.LastIndexByte(u.Path, '/')+1]
	if dir == "" {
		dir = "/"
	}
	l.Path, l.RawPath = dir+"leader", ""
	return endpoint{rpc: u.String(), leader: l.String()}, nil
}

// Endpoints returns the configured XML-RPC URLs.
func (c *Client) Endpoints() []string {
	out := make([]string, len(c.eps))
	for i, ep := range c.eps {
		out[i] = ep.rpc
	}
	return out
}

// Close releases the idle connections of the Client's own transport.
func (c *Client) Close() {
	if c.own != nil {
		c.own.CloseIdleConnections()
	}
}

// Call calls an OpenNebula method (the session string is prepended) on the
// leader, or any server while none is known, and returns the unpacked
// value; a failure answer is an *xmlrpc.Error (errors.As). safe says
// whether resending after an unknown outcome is harmless (a read, or a
// write carrying a request id); not-applied answers are always retried.
func (c *Client) Call(ctx context.Context, safe bool, method string, params ...any) (any, error) {
	k := write
	if safe {
		k = idempotent
	}
	return c.do(ctx, routeLeader, k, method, params)
}

// kind says what resending a call can do.
type kind uint8

const (
	write      kind = iota // may apply twice: resent only when not applied
	idempotent             // a write with a request id: applied at most once
	read                   // changes nothing
)

// CallServer calls method once on one server (any XML-RPC URL, e.g. a
// zone server's ENDPOINT for one.zone.raftstatus), with the Client's
// credentials, transport, Timeout and MaxBody, without retries or routing.
func (c *Client) CallServer(ctx context.Context, rpcURL, method string, params ...any) (any, error) {
	if _, err := parseEndpoint(rpcURL); err != nil {
		return nil, err
	}
	var body bytes.Buffer
	if err := xmlrpc.EncodeCall(&body, method, append([]any{c.auth}, params...)...); err != nil {
		return nil, fmt.Errorf("client: %s: %w", method, err)
	}
	return c.post(ctx, rpcURL, method, body.Bytes())
}

// route is where an attempt goes.
type route uint8

const (
	routeLeader route = iota // the leader, else any server in turn
	routeHome                // the home server, then the next ones
)

// do runs the attempts of one call.
func (c *Client) do(ctx context.Context, r route, k kind, method string, params []any) (any, error) {
	var body bytes.Buffer
	if err := xmlrpc.EncodeCall(&body, method, append([]any{c.auth}, params...)...); err != nil {
		return nil, fmt.Errorf("client: %s: %w", method, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("client: %s: %w", method, err) // nothing sent
	}
	maybeApplied := false
	var last error
	attempts := 0
	for attempts < c.maxAttempts {
		if attempts > 0 && c.sleep(ctx, attempts) != nil {
			break
		}
		attempts++
		i := c.target(ctx, r)
		v, err := c.post(ctx, c.eps[i].rpc, method, body.Bytes())
		if err == nil {
			c.succeeded(r, i)
			return v, nil
		}
		c.failed(r, i)
		last = err
		switch classify(err) {
		case fatal:
			if maybeApplied && k != read {
				return nil, fmt.Errorf("%w (an earlier attempt may have been applied): %w", ErrOutcomeUnknown, err)
			}
			return nil, err
		case unknown:
			maybeApplied = true
			if k == write {
				return nil, fmt.Errorf("%w: %w", ErrOutcomeUnknown, err)
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	switch {
	case k == read && ctx.Err() != nil:
		return nil, fmt.Errorf("%w after %d attempt(s): %w", ctx.Err(), attempts, last)
	case k == read:
		return nil, fmt.Errorf("gave up after %d attempt(s): %w", attempts, last)
	case maybeApplied:
		return nil, fmt.Errorf("%w (%d attempts): %w", ErrOutcomeUnknown, attempts, last)
	}
	return nil, fmt.Errorf("%w (%d attempts): %w", ErrNotApplied, attempts, last)
}

// post sends one attempt to url and unpacks the answer.
func (c *Client) post(ctx context.Context, rpcURL, method string, body []byte) (any, error) {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, rpcURL, bytes.NewReader(body))
	if err != nil {
		return nil, &callError{url: rpcURL, method: method, err: err}
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("Accept", "text/xml")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, &callError{url: rpcURL, method: method, err: err, transport: true}
	}
	defer func() {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return nil, &callError{url: rpcURL, method: method, status: resp.StatusCode,
			err: fmt.Errorf("%w: %s: %q", ErrHTTP, resp.Status, snippet)}
	}
	v, err := xmlrpc.DecodeResponse(resp.Body, c.maxBody)
	if err != nil {
		if f, ok := errors.AsType[*xmlrpc.Fault](err); ok {
			return nil, &callError{url: rpcURL, method: method, err: f}
		}
		return nil, &callError{url: rpcURL, method: method, err: err, transport: true}
	}
	v, err = xmlrpc.Result(v)
	if err != nil {
		if _, ok := errors.AsType[*xmlrpc.Error](err); ok {
			return nil, err // already names the method; the server's words
		}
		return nil, &callError{url: rpcURL, method: method, err: err}
	}
	return v, nil
}

// callError is an attempt that got no OpenNebula answer.
type callError struct {
	url, method string
	status      int  // HTTP status, when one came
	transport   bool // the request failed in flight (or its answer did)
	err         error
}

func (e *callError) Error() string {
	var ue *url.Error
	if errors.As(e.err, &ue) && ue.Err != nil {
		return fmt.Sprintf("%s at %s: %v", e.method, e.url, ue.Err)
	}
	return fmt.Sprintf("%s at %s: %v", e.method, e.url, e.err)
}

func (e *callError) Unwrap() error { return e.err }
