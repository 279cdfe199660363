package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/oneha/oneha/client"
	"github.com/oneha/oneha/internal/cli"
)

// zoneConn is one command's connection: the session of the connection
// flags and a client.Client on the session's endpoint only (see connect).
//
// Invariants:
//   - reads (info, pool, members, history) are resent by the client's
//     policy (cli.ClientAttempts, backoff, each attempt bounded by
//     --timeout); writes (addserver, delserver, resetserver,
//     leadertransfer, enable, allocate, update, rename, delete) are resent
//     only after an answer proving the attempt was not applied, so a write
//     is never applied twice by onezone;
//   - one.zone.raftstatus goes once to the named server, bounded by the
//     caller's per-server timeout: a down server costs at most that much;
//   - failures keep OpenNebula's message form ("[one.zone.info] …").
type zoneConn struct {
	s *cli.Session
	c *client.Client
}

// connect opens the session and its client. The client knows only the
// session endpoint: show, members and list report what the queried server
// sees, and the zone's other servers would first have to be read from it
// (a server the operator did not name would answer instead, and each write
// would cost one more call). Followers forward writes to the leader.
func (a *app) connect() (*zoneConn, error) {
	s, err := a.session()
	if err != nil {
		return nil, err
	}
	c, err := s.Client()
	if err != nil {
		return nil, err
	}
	return &zoneConn{s: s, c: c}, nil
}

// zoneConnect is connect, then the ZONEID argument (an ID or a name)
// resolved; the connection is closed when it fails.
func (a *app) zoneConnect(ctx context.Context, zone string) (*zoneConn, int, error) {
	zc, err := a.connect()
	if err != nil {
		return nil, 0, err
	}
	id, err := zc.resolveZone(ctx, zone)
	if err != nil {
		zc.Close()
		return nil, 0, err
	}
	return zc, id, nil
}

// Close releases the client's idle connections.
func (z *zoneConn) Close() { z.c.Close() }

// read calls a method that changes nothing.
func (z *zoneConn) read(ctx context.Context, method string, params ...any) (any, error) {
	v, err := z.c.Call(ctx, true, method, params...)
	if err != nil {
		return nil, cli.ClientError(err)
	}
	return v, nil
}

// readString is read for methods that return a string (usually XML).
func (z *zoneConn) readString(ctx context.Context, method string, params ...any) (string, error) {
	v, err := z.read(ctx, method, params...)
	if err != nil {
		return "", err
	}
	str, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s returned %T, want a string", method, v)
	}
	return str, nil
}

// write calls a method that changes the zone: resent only when the
// previous attempt was not applied.
func (z *zoneConn) write(ctx context.Context, method string, params ...any) (any, error) {
	v, err := z.c.Call(ctx, false, method, params...)
	if err != nil {
		return nil, cli.ClientError(err)
	}
	return v, nil
}

func (z *zoneConn) zoneInfo(ctx context.Context, id int) (string, error) {
	return z.readString(ctx, "one.zone.info", id, false)
}

// raftStatus fetches one.zone.raftstatus from the server at endpoint: one
// attempt, bounded by timeout (and ctx).
func (z *zoneConn) raftStatus(timeout time.Duration) StatusFunc {
	return func(ctx context.Context, endpoint string) (string, error) {
		if err := cli.CheckURL(endpoint); err != nil {
			return "", err
		}
		ctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		v, err := z.c.CallServer(ctx, endpoint, "one.zone.raftstatus")
		if err != nil {
			return "", cli.ClientError(err)
		}
		doc, ok := v.(string)
		if !ok {
			return "", fmt.Errorf("one.zone.raftstatus returned %T, want a string", v)
		}
		return doc, nil
	}
}

// numericID is OneHelper#to_id's test: an argument of digits only is an
// ID, anything else a name.
func numericID(arg string) (int, bool) {
	if arg == "" || strings.Trim(arg, "0123456789") != "" {
		return 0, false
	}
	id, err := strconv.Atoi(arg)
	return id, err == nil
}

// resolveZone accepts a zone ID or a zone name (OneHelper#to_id).
func (z *zoneConn) resolveZone(ctx context.Context, arg string) (int, error) {
	if id, ok := numericID(arg); ok {
		return id, nil
	}
	doc, err := z.readString(ctx, "one.zonepool.info")
	if err != nil {
		return 0, err
	}
	zones, err := ParseZonePool(doc)
	if err != nil {
		return 0, err
	}
	return findByName(zones, arg, func(z Zone) (int, string) { return z.ID, z.Name }, "ZONE")
}

// resolveServer accepts a server ID or a server name of zone id.
func (z *zoneConn) resolveServer(ctx context.Context, zoneID int, arg string) (int, error) {
	if id, err := strconv.Atoi(arg); err == nil {
		if id < 0 {
			return 0, fmt.Errorf("%w: server ID %d must be >= 0", cli.ErrUsage, id)
		}
		return id, nil
	}
	doc, err := z.zoneInfo(ctx, zoneID)
	if err != nil {
		return 0, err
	}
	zone, err := ParseZone(doc)
	if err != nil {
		return 0, err
	}
	return findByName(zone.Servers, arg, func(sv Server) (int, string) { return sv.ID, sv.Name }, "SERVER")
}

func findByName[T any](items []T, name string, key func(T) (int, string), what string) (int, error) {
	found, id := 0, -1
	for _, it := range items {
		if i, n := key(it); n == name {
			found++
			id = i
		}
	}
	// OneHelper.name_to_id's messages.
	switch {
	case found == 0:
		return 0, fmt.Errorf("%s named %s not found.", what, name)
	case found > 1:
		return 0, fmt.Errorf("There are multiple %ss with name %s.", what, name)
	}
	return id, nil
}
