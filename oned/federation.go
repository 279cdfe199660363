package oned

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/oneha/oneha/federation"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/xmlrpc"
	"github.com/oneha/oneha/zoneca"
)

// Federation (FEDERATION MODE MASTER/SLAVE): see package federation. This
// file wires it into oned: which writes are federated (one.sql.exec), the
// master zone leader's stream to the slave zones, and the slave side of
// one.zone.fedreplicate.

// fedMode is FEDERATION.MODE, upper case.
func (s *Server) fedMode() string { return strings.ToUpper(s.cfg.Federation.Mode) }

// rawAnswer is an XML-RPC answer a handler gives as is (not wrapped as a
// success): a failure relayed from the master zone, or fedreplicate's
// four-element REPLICATION failure.
type rawAnswer struct{ v []any }

func (r *rawAnswer) Error() string { return fmt.Sprint(r.v...) }

// fedTables is the configured federated tables (validated at start).
func (s *Server) fedTables() federation.Tables { return s.fedTabs }

// classifyWrite is the federation class of a one.sql.exec transaction:
// Local on a STANDALONE zone, else federation.Classify against this
// server's tables. A mixed transaction is an ACTION error, refused before
// anything is logged.
func (s *Server) classifyWrite(ctx context.Context, stmts []sqlfsm.Statement) (federation.Class, error) {
	if s.fedMode() == federation.Standalone {
		return federation.Local, nil
	}
	texts := make([]string, len(stmts))
	for i, st := range stmts {
		texts[i] = st.SQL
	}
	c, err := federation.Classify(ctx, s.fsm.Dialect(), texts, s.fedTables(), s.listTables)
	if errors.Is(err, federation.ErrMixed) {
		return c, oneErr(xmlrpc.ActionError, "%v", err)
	}
	return c, err
}

// listTables lists this server's tables and views.
func (s *Server) listTables(ctx context.Context) ([]string, error) {
	q := `SELECT name FROM sqlite_master WHERE type IN ('table', 'view')`
	if s.fsm.Dialect() == sqlcheck.MySQL {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()`
	}
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// execFederated runs a federated transaction: on the master through its
// own log (it takes the next federation index, and the stream is woken),
// on a slave by forwarding it to the master zone (MASTER_ONED), whose
// answer is the client's. The slave's own copy arrives through the stream.
func (s *Server) execFederated(ctx context.Context, p []any, stmts []sqlfsm.Statement, req *sqlfsm.Request) (*sqlfsm.Result, error) {
	if n := recordSize(stmts); n > maxFedRecord {
		return nil, oneErr(xmlrpc.ActionError, "a federated transaction of %d bytes is over the %d that the stream to slave zones carries; split it", n, maxFedRecord)
	}
	if s.fedMode() == federation.Master {
		res, err := s.sql.ExecFederated(ctx, stmts, req, uint64(s.cfg.Federation.LogRetention))
		if err == nil && s.fedRep != nil {
			s.fedRep.Notify()
		}
		return res, err
	}
	c := s.fedClient(s.cfg.Federation.MasterOned)
	v, err := c.Call(ctx, "one.sql.exec", append([]any{s.auth.session()}, p...)...)
	if err != nil {
		return nil, &rawAnswer{forwardFailure("one.sql.exec", "the master zone "+s.cfg.Federation.MasterOned, err)}
	}
	ans, ok := v.([]any)
	if !ok || len(ans) < 2 {
		return nil, &rawAnswer{xmlrpc.Failure("one.sql.exec", xmlrpc.OutcomeUnknownPrefix+"the master zone answered "+fmt.Sprintf("%.100v", v), xmlrpc.OutcomeUnknownError)}
	}
	return nil, &rawAnswer{ans} // the master's answer, success or failure, as it is
}

// maxFedRecord bounds a federated transaction (SQL and parameters), so
// its record fits one.zone.fedreplicate's body (base64) on every slave.
const maxFedRecord = (xmlrpc.DefaultMaxBody - 64<<10) / 4 * 3

// recordSize is the bytes of a transaction's SQL and parameters, about
// what its record holds before compression.
func recordSize(stmts []sqlfsm.Statement) int {
	n := 0
	for _, st := range stmts {
		n += len(st.SQL) + 16
		for _, p := range st.Params {
			switch v := p.(type) {
			case string:
				n += len(v) + 8
			case []byte:
				n += len(v) + 8
			default:
				n += 16
			}
		}
	}
	return n
}

// fedClient is an XML-RPC client for another zone's ENDPOINT, on one
// transport shared by every cross-zone call (connections are reused).
//
// With zone TLS an http:// ENDPOINT is called as https:// on the same
// port (every OneHA server serves both there): the other zone must then
// prove it holds a certificate of the federation's zone CA before this
// server sends it the oneadmin session or any record.
func (s *Server) fedClient(endpoint string) *xmlrpc.Client {
	return s.fedClientTimeout(endpoint, max(s.cfg.XMLRPCTimeout(), 10*time.Second))
}

// fedClientTimeout is fedClient with a call timeout of its own.
func (s *Server) fedClientTimeout(endpoint string, timeout time.Duration) *xmlrpc.Client {
	s.fedTrOnce.Do(func() { s.fedTr = s.newFedTransport() })
	if rest, ok := strings.CutPrefix(endpoint, "http://"); ok && s.creds != nil {
		endpoint = "https://" + rest
	}
	return &xmlrpc.Client{URL: endpoint, HTTP: &http.Client{Transport: s.fedTr, Timeout: timeout}, MaxBody: xmlrpc.DefaultMaxBody}
}

// newFedTransport: with zone TLS, an https ENDPOINT of another zone must
// present a certificate of the zone CA as it is at the handshake (every
// zone of a federation shares it: the .one folder is copied, as in
// OpenNebula's procedure; the chain is checked, not the name, since an
// ENDPOINT is a VIP no leaf names), or else, for an ENDPOINT that is a
// host name, one the system trusts for that name (an operator's API_TLS
// certificate); an IP ENDPOINT needs the zone CA.
func (s *Server) newFedTransport() *http.Transport {
	tr := &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second, // calls are bounded by their client's Timeout
		DialContext: (&net.Dialer{Timeout: 10 * time.Second}).DialContext}
	if s.creds == nil {
		return tr
	}
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12,
		InsecureSkipVerify: true, // VerifyConnection checks the chain against the current CA
		VerifyConnection:   verifyOtherZone(s.creds.Pool, nil)}
	// No client certificate: the other zone's authorizer admits only its
	// own servers' leaves; the oneadmin session authenticates this side.
	return tr
}

// verifyOtherZone accepts another zone's server certificate: a leaf of the
// zone CA (zonePool, read at each handshake: the CA may rotate), or, when
// the ENDPOINT is a host name, a certificate roots (nil: the system's)
// trust for that name. With an IP ENDPOINT crypto/tls sets no ServerName
// and x509 would check no name at all, so there only the zone CA counts.
func verifyOtherZone(zonePool func() *x509.CertPool, roots *x509.CertPool) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("federation: the other zone sent no certificate")
		}
		leaf, rest := cs.PeerCertificates[0], cs.PeerCertificates[1:]
		zerr := zoneca.VerifyLeaf(zonePool(), leaf, rest, x509.ExtKeyUsageServerAuth, time.Now())
		if zerr == nil {
			return nil
		}
		if cs.ServerName == "" {
			return fmt.Errorf("federation: the other zone's certificate is not of the zone CA: %w", zerr)
		}
		inter := x509.NewCertPool()
		for _, c := range rest {
			inter.AddCert(c)
		}
		_, err := leaf.Verify(x509.VerifyOptions{DNSName: cs.ServerName, Roots: roots, Intermediates: inter})
		return err
	}
}
