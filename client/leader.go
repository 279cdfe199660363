package client

import (
	"context"
	"io"
	"net/http"
)

// target picks the server for the next attempt.
func (c *Client) target(ctx context.Context, r route) int {
	if len(c.eps) == 1 {
		return 0
	}
	if r == routeHome {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.home
	}
	c.mu.Lock()
	l := c.leader
	c.mu.Unlock()
	if l >= 0 {
		return l
	}
	if i, ok := c.Leader(ctx); ok {
		return i
	}
	// No server says it leads (an election, or /leader unreachable behind
	// a proxy): any server takes the call and forwards it or waits.
	c.mu.Lock()
	defer c.mu.Unlock()
	i := c.next
	c.next = (c.next + 1) % len(c.eps)
	return i
}

// succeeded remembers which server answered.
func (c *Client) succeeded(r route, i int) {
	if r == routeHome {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// A follower forwarded it, or i leads: start there next time.
	c.next = i
}

// failed forgets the cached leader if it was i, and moves stale reads on.
func (c *Client) failed(r route, i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r == routeHome {
		c.home = (i + 1) % len(c.eps)
		return
	}
	if c.leader == i {
		c.leader = -1
	}
	c.next = (i + 1) % len(c.eps)
}

// Leader probes every server's GET /leader concurrently (public, no
// credentials, no database access; each probe bounded by
// Options.ProbeTimeout) and returns the index of the one that answers 200,
// caching it. Concurrent callers share one probe. ok is false when none
// does (an election is running, or no server is reachable).
func (c *Client) Leader(ctx context.Context) (int, bool) {
	v, _, _ := c.probes.Do("leader", func() (any, error) {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.probe)
		defer cancel()
		found := make(chan int, len(c.eps))
		for i, ep := range c.eps {
			go func() {
				if c.isLeader(pctx, ep.leader) {
					found <- i
				} else {
					found <- -1
				}
			}()
		}
		for range c.eps {
			if i := <-found; i >= 0 {
				cancel() // the others' answers no longer matter
				c.mu.Lock()
				c.leader = i
				c.mu.Unlock()
				return i, nil
			}
		}
		return -1, nil
	})
	i := v.(int)
	return i, i >= 0
}

// LeaderEndpoint is Leader's XML-RPC URL, "" when none is known.
func (c *Client) LeaderEndpoint(ctx context.Context) string {
	if i, ok := c.Leader(ctx); ok {
		return c.eps[i].rpc
	}
	return ""
}

// isLeader reports whether GET url answers 200.
func (c *Client) isLeader(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 512))
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
