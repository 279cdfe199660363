package xmlrpc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Client calls methods on one XML-RPC endpoint. Its fields may be changed
// before the first call; it is safe for concurrent use after that.
type Client struct {
	// URL is the endpoint, e.g. http://10.0.0.1:2633/RPC2.
	URL string
	// HTTP performs the requests (http.DefaultClient if nil).
	HTTP *http.Client
	// MaxBody limits response bodies (DefaultMaxBody if ≤ 0).
	MaxBody int64
}

// NewClient returns a Client for url whose requests time out after timeout
// (0: no timeout besides the context's).
func NewClient(url string, timeout time.Duration) *Client {
	return &Client{URL: url, HTTP: &http.Client{Timeout: timeout}, MaxBody: DefaultMaxBody}
}

// Call calls method with params and returns the response value. A fault
// answer is returned as a *Fault; transport, status and decoding failures as
// errors wrapping the cause (context.DeadlineExceeded, ErrHTTP,
// ErrMalformed, ErrTooLarge…).
func (c *Client) Call(ctx context.Context, method string, params ...any) (any, error) {
	var body bytes.Buffer
	if err := EncodeCall(&body, method, params...); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, &body)
	if err != nil {
		return nil, fmt.Errorf("xmlrpc: call %s: %w", method, err)
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("Accept", "text/xml")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("xmlrpc: call %s: %w", method, err)
	}
	defer func() {
		// Drain a little so the connection can be reused.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
	}()
	if resp.StatusCode != http.StatusOK {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		return nil, fmt.Errorf("xmlrpc: call %s: %w: %s: %q", method, ErrHTTP, resp.Status, snippet)
	}
	v, err := DecodeResponse(resp.Body, c.MaxBody)
	if err != nil {
		if f, ok := err.(*Fault); ok {
			return nil, f
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("xmlrpc: call %s: %w", method, ctxErr)
		}
		return nil, fmt.Errorf("xmlrpc: call %s: response: %w", method, err)
	}
	return v, nil
}

// CallONE calls an OpenNebula method and unpacks its [ok, value, code]
// answer with Result: a failure is returned as an *Error.
func (c *Client) CallONE(ctx context.Context, method string, params ...any) (any, error) {
	v, err := c.Call(ctx, method, params...)
	if err != nil {
		return nil, err
	}
	return Result(v)
}
