package oned

import (
	"context"
	"crypto/x509"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/zoneca"
)

// TestAuthorizerAdmitsOnlyZoneTableServers: a peer is admitted only if its
// certificate names a server of this zone's table whose ENDPOINT host the
// certificate carries, and a dialed address only if the table names that
// server there.
func TestAuthorizerAdmitsOnlyZoneTableServers(t *testing.T) {
	dir := t.TempDir()
	db, err := sqlfsm.OpenSQLite(filepath.Join(dir, "one.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	never := func() uint64 { return 0 }
	a := &zoneAuthorizer{db: db, zoneID: 0, applied: never}
	own := &zoneAuthorizer{db: db, zoneID: 0, ownPKI: true, applied: never}
	ca, _, err := zoneca.EnsureCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	leaf := func(zid, sid int, hosts ...string) *x509.Certificate {
		c, err := ca.Issue(zoneca.Identity{ZoneID: zid, ServerID: sid}, hosts, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf
	}
	ctx := context.Background()
	// A joiner whose table is still empty: the CA chain is the check.
	if err := a.AuthorizePeer(ctx, leaf(0, 5, "10.0.0.5"), ""); err != nil {
		t.Fatalf("empty zone table: a zone leaf was refused: %v", err)
	}
	if err := a.AuthorizePeer(ctx, leaf(1, 5, "10.0.0.5"), ""); err == nil {
		t.Fatal("empty zone table: a leaf of another zone was accepted")
	}
	for _, q := range []string{
		"CREATE TABLE oneha_server (zone_id INTEGER, id INTEGER, name TEXT, endpoint TEXT)",
		"INSERT INTO oneha_server VALUES (0, 0, 's0', 'http://10.0.0.1:2633/RPC2'), (0, 1, 's1', 'http://10.0.0.2:2633/RPC2'), (0, 2, 's2', 'http://One-2.example:2633/RPC2'), (0, 3, 's3', 'http://one-3.example.:2633/RPC2'), (1, 9, 'z1', 'http://10.0.1.9:2633/RPC2')",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		leaf   *x509.Certificate
		dialed string
		ok     bool
		own    bool // the operator's own PKI (TLS.CERT)
	}{
		{"inbound: listed server with its ENDPOINT address", leaf(0, 1, "10.0.0.2"), "", true, false},
		{"inbound: listed server with its ENDPOINT host name", leaf(0, 2, "one-2.example"), "", true, false},
		{"inbound: a fully qualified SAN matches the ENDPOINT host", leaf(0, 2, "one-2.example."), "", true, false},
		{"inbound: a fully qualified ENDPOINT host matches the SAN", leaf(0, 3, "one-3.example"), "", true, false},
		{"outbound: dialed with a trailing dot", leaf(0, 2, "one-2.example"), "one-2.example.:2633", true, false},
		{"outbound: ENDPOINT with a trailing dot, dialed without", leaf(0, 3, "one-3.example"), "one-3.example:2633", true, false},
		{"outbound: trailing dot, but another server's certificate", leaf(0, 2, "one-2.example", "one-3.example"), "one-3.example.:2633", false, false},
		{"inbound: server not in the zone", leaf(0, 9, "10.0.1.9"), "", false, false},
		{"inbound: certificate of another zone", leaf(1, 1, "10.0.0.2"), "", false, false},
		{"inbound: ENDPOINT host not in the certificate", leaf(0, 1, "10.0.0.3"), "", false, false},
		{"outbound: the server the table names at the address", leaf(0, 1, "10.0.0.2"), "10.0.0.2:2633", true, false},
		{"outbound: certificate of another server at that address", leaf(0, 0, "10.0.0.1", "10.0.0.2"), "10.0.0.2:2633", false, false},
		{"outbound: address no server's ENDPOINT", leaf(0, 1, "10.0.0.2"), "10.0.0.7:2633", false, false},
		{"own PKI: exactly one ENDPOINT host", ownPKILeaf(t, ca, "10.0.0.2"), "", true, true},
		{"own PKI: two ENDPOINT hosts is ambiguous", ownPKILeaf(t, ca, "10.0.0.1", "10.0.0.2"), "", false, true},
		{"own PKI: no ENDPOINT host", ownPKILeaf(t, ca, "10.9.9.9"), "", false, true},
		{"own PKI: outbound to the server it names", ownPKILeaf(t, ca, "10.0.0.2"), "10.0.0.2:2633", true, true},
		{"zone CA: a leaf without identity (solo server)", ownPKILeaf(t, ca, "10.0.0.2"), "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			authz := a
			if tt.own {
				authz = own
			}
			err := authz.AuthorizePeer(ctx, tt.leaf, tt.dialed)
			if tt.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tt.ok && !errors.Is(err, zoneca.ErrUnauthorizedPeer) {
				t.Fatalf("err = %v, want ErrUnauthorizedPeer", err)
			}
		})
	}
}

// ownPKILeaf is a leaf without a OneHA identity (an operator's own PKI).
// TestAuthorizerEmptyTableAcceptsOnlyBeforeFirstApply: an empty or missing
// zone table admits any zone leaf only while the server has applied
// nothing (a joiner); once it has applied an entry, emptying or dropping
// the table refuses every peer with an error saying so, while a listed
// server is admitted when the table holds it. While a snapshot restore
// replaces the tables the joiner rule applies again.
func TestAuthorizerEmptyTableAcceptsOnlyBeforeFirstApply(t *testing.T) {
	dir := t.TempDir()
	db, err := sqlfsm.OpenSQLite(filepath.Join(dir, "one.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var applied atomic.Uint64
	var restoring atomic.Bool
	a := &zoneAuthorizer{db: db, zoneID: 0, applied: applied.Load, restore: restoring.Load}
	ca, _, err := zoneca.EnsureCA(filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.Issue(zoneca.Identity{ZoneID: 0, ServerID: 1}, []string{"10.0.0.2"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	listed := c.Leaf
	c, err = ca.Issue(zoneca.Identity{ZoneID: 0, ServerID: 7}, []string{"10.9.9.7"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	removed := c.Leaf
	ctx := context.Background()
	exec := func(q string) {
		t.Helper()
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	refused := func(why, want string, leaf *x509.Certificate) {
		t.Helper()
		err := a.AuthorizePeer(ctx, leaf, "")
		if !errors.Is(err, zoneca.ErrUnauthorizedPeer) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a refusal saying %q", why, err, want)
		}
	}

	// Missing table, nothing applied: a joiner; the CA chain is the check.
	if err := a.AuthorizePeer(ctx, removed, ""); err != nil {
		t.Fatalf("joiner, missing table: a zone leaf was refused: %v", err)
	}
	exec("CREATE TABLE oneha_server (zone_id INTEGER, id INTEGER, name TEXT, endpoint TEXT)")
	if err := a.AuthorizePeer(ctx, removed, ""); err != nil {
		t.Fatalf("joiner, empty table: a zone leaf was refused: %v", err)
	}

	applied.Store(42)
	refused("applied, empty table", "has no server of zone 0", removed)
	refused("applied, empty table, even a formerly listed server", "has no server of zone 0", listed)
	exec("INSERT INTO oneha_server VALUES (0, 1, 's1', 'http://10.0.0.2:2633/RPC2')")
	if err := a.AuthorizePeer(ctx, listed, ""); err != nil {
		t.Errorf("applied, listed server: refused: %v", err)
	}
	refused("applied, unlisted server", "not a server of zone 0", removed)

	exec("DELETE FROM oneha_server")
	// An accepting read is cached for up to authzCacheTTL.
	for deadline := time.Now().Add(5 * authzCacheTTL); a.AuthorizePeer(ctx, listed, "") == nil; {
		if time.Now().After(deadline) {
			t.Fatal("applied, emptied table: the formerly listed server is still admitted")
		}
		time.Sleep(20 * time.Millisecond)
	}
	refused("applied, emptied table", "has no server of zone 0", listed)
	exec("DROP TABLE oneha_server")
	refused("applied, dropped table", "zone table is missing", removed)
	// A snapshot restore drops and reloads the tables: a joiner again.
	restoring.Store(true)
	if err := a.AuthorizePeer(ctx, removed, ""); err != nil {
		t.Errorf("restoring a snapshot, missing table: a zone leaf was refused: %v", err)
	}
	restoring.Store(false)
	refused("restore done, dropped table", "zone table is missing", removed)
	if zs, err := listServers(ctx, db, 0); err != nil || len(zs) != 0 {
		t.Errorf("listServers on a missing table = %v, %v; want none, no error", zs, err)
	}
}

func ownPKILeaf(t *testing.T, ca *zoneca.CA, hosts ...string) *x509.Certificate {
	t.Helper()
	c, err := ca.Issue(zoneca.Identity{}, hosts, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	l := *c.Leaf
	l.URIs = nil // the authorizer reads only the SANs
	return &l
}
