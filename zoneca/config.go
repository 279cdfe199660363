package zoneca

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// Authorizer is asked, after the peer's chain to the zone CA verified,
// whether the peer may talk to this server. dialed is the address this server
// dialed ("" for an inbound connection); leaf is the verified peer leaf. A
// refusal should say why ("server 7 is not in the zone"); zoneca wraps it in
// ErrUnauthorizedPeer if it does not already. oned implements it with its
// zone table.
type Authorizer interface {
	AuthorizePeer(ctx context.Context, leaf *x509.Certificate, dialed string) error
}

// AuthorizerFunc adapts a function to an Authorizer.
type AuthorizerFunc func(ctx context.Context, leaf *x509.Certificate, dialed string) error

// AuthorizePeer calls f.
func (f AuthorizerFunc) AuthorizePeer(ctx context.Context, leaf *x509.Certificate, dialed string) error {
	return f(ctx, leaf, dialed)
}

// serverProtos is what the shared port speaks, in order of preference; no h2.
var serverProtos = []string{ALPNRaft, ALPNPeer, "http/1.1"}

// ServerConfig is the *tls.Config of the shared port's listener, used for
// every TLS connection on it. It keeps these rules:
//   - A ClientHello offering ALPNRaft or ALPNPeer gets c's leaf, must present
//     a client certificate that chains to c.Pool() with ExtKeyUsageClientAuth
//     (checked by crypto/tls, so ConnectionState.VerifiedChains is set) and
//     lists ExtKeyUsageServerAuth and ExtKeyUsageClientAuth explicitly, and
//     must then be accepted by authz.AuthorizePeer(ctx, leaf, ""); otherwise
//     the handshake fails. One of the peer ALPNs is then negotiated.
//   - Any other client (ordinary HTTPS) gets api() when api is non-nil and
//     returns non-nil, else c's leaf. A client certificate is optional; a
//     given one must pass the same checks, so a non-empty
//     r.TLS.VerifiedChains means the request came from an authorized peer.
//   - TLS 1.2 at least; ALPN ALPNRaft, ALPNPeer, "http/1.1"; no session
//     tickets, so every connection is verified and authorized afresh.
//
// A nil authz refuses every client certificate. Handshake errors of inbound
// connections read best through HandshakeError.
func ServerConfig(c *Creds, authz Authorizer, api func() *tls.Certificate) *tls.Config {
	leaf := func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.Certificate(), nil }
	return &tls.Config{
		MinVersion:             tls.VersionTLS12,
		NextProtos:             slices.Clone(serverProtos),
		GetCertificate:         leaf,
		SessionTicketsDisabled: true,
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			return serverConnConfig(hello, c, authz, api), nil
		},
	}
}

// serverConnConfig is the configuration for one inbound handshake.
func serverConnConfig(hello *tls.ClientHelloInfo, c *Creds, authz Authorizer, api func() *tls.Certificate) *tls.Config {
	ctx := hello.Context()
	peer := slices.ContainsFunc(hello.SupportedProtos, isPeerALPN)
	from := "unknown address"
	if hello.Conn != nil {
		from = hello.Conn.RemoteAddr().String()
	}
	cfg := &tls.Config{
		MinVersion:             tls.VersionTLS12,
		NextProtos:             slices.Clone(serverProtos),
		ClientCAs:              c.Pool(),
		SessionTicketsDisabled: true,
	}
	if peer {
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return c.Certificate(), nil }
	} else {
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			if api != nil {
				if cert := api(); cert != nil {
					return cert, nil
				}
			}
			return c.Certificate(), nil
		}
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			if peer || isPeerALPN(cs.NegotiatedProtocol) {
				return fmt.Errorf("%w: client %s offered a zone protocol without a certificate", ErrUnauthorizedPeer, from)
			}
			return nil
		}
		if len(cs.VerifiedChains) == 0 { // crypto/tls verified it; never trust an unverified one
			return fmt.Errorf("%w: client %s: certificate %s was not verified", ErrUnauthorizedPeer, from, describe(cs.PeerCertificates[0]))
		}
		if err := peerUsages(cs.PeerCertificates[0]); err != nil {
			return fmt.Errorf("%w: client %s: %w", ErrUnauthorizedPeer, from, err)
		}
		return authorize(ctx, authz, cs.PeerCertificates[0], "", "client "+from)
	}
	return cfg
}

// ClientConfig is for dialing a zone peer at address dialed with protocol
// alpn. It presents c's current leaf as client certificate and accepts the
// server only if VerifyLeaf accepts its leaf for ExtKeyUsageServerAuth (no
// hostname check: servers are named by their Identity, which authz checks
// against dialed), the negotiated protocol equals alpn, and
// authz.AuthorizePeer(ctx, leaf, dialed) accepts it (with a background
// context; DialPeer passes its own). Refusals wrap ErrUnauthorizedPeer. A nil
// authz refuses every server.
func ClientConfig(c *Creds, authz Authorizer, alpn, dialed string) *tls.Config {
	return clientConfig(context.Background(), c, authz, alpn, dialed)
}

func clientConfig(ctx context.Context, c *Creds, authz Authorizer, alpn, dialed string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{alpn},
		// Verification is VerifyConnection's: by chain and Authorizer, not by name.
		InsecureSkipVerify: true,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return c.Certificate(), nil
		},
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return fmt.Errorf("%w: server %s presented no certificate", ErrUnauthorizedPeer, dialed)
			}
			leaf := cs.PeerCertificates[0]
			if err := VerifyLeaf(c.Pool(), leaf, cs.PeerCertificates[1:], x509.ExtKeyUsageServerAuth, time.Now()); err != nil {
				return fmt.Errorf("server %s: %w", dialed, err)
			}
			if cs.NegotiatedProtocol != alpn {
				return fmt.Errorf("%w: server %s negotiated protocol %q, not %q", ErrUnauthorizedPeer, dialed, cs.NegotiatedProtocol, alpn)
			}
			return authorize(ctx, authz, leaf, dialed, "server "+dialed)
		},
	}
}

// DialPeer dials addr over TCP and completes the handshake with ClientConfig
// (the Authorizer gets ctx), all within ctx. On error nothing stays open.
// Note that in TLS 1.3 the server checks this side's certificate after the
// client's handshake finished: a server that refuses us shows up as an error
// ("remote error: tls: bad certificate") on the connection's first Read.
func DialPeer(ctx context.Context, c *Creds, authz Authorizer, alpn, addr string) (*tls.Conn, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("zoneca: dialing %s: %w", addr, err)
	}
	conn := tls.Client(raw, clientConfig(ctx, c, authz, alpn, addr))
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, fmt.Errorf("zoneca: TLS handshake with %s (%s): %w", addr, alpn, err)
	}
	return conn, nil
}

// VerifyLeaf checks that leaf is a zone peer's leaf: it lists both
// ExtKeyUsageServerAuth and ExtKeyUsageClientAuth explicitly (every zone
// server is both; crypto/x509 would accept a leaf with no ExtKeyUsage for
// any usage, e.g. a web server's certificate from an operator's CA), and
// it chains to pool (through intermediates) at now, valid for usage.
// Failures wrap ErrUnauthorizedPeer and say why ("certificate from another
// CA", expired, wrong usage). A nil pool fails: system roots are never
// trusted.
func VerifyLeaf(pool *x509.CertPool, leaf *x509.Certificate, intermediates []*x509.Certificate, usage x509.ExtKeyUsage, now time.Time) error {
	if err := verifyLeaf(pool, leaf, intermediates, usage, now); err != nil {
		return fmt.Errorf("%w: %w", ErrUnauthorizedPeer, err)
	}
	return nil
}

func verifyLeaf(pool *x509.CertPool, leaf *x509.Certificate, intermediates []*x509.Certificate, usage x509.ExtKeyUsage, now time.Time) error {
	if leaf == nil {
		return errors.New("no certificate")
	}
	if pool == nil {
		return errors.New("no CA pool to verify against")
	}
	if err := peerUsages(leaf); err != nil {
		return err
	}
	opts := x509.VerifyOptions{
		Roots:         pool,
		Intermediates: x509.NewCertPool(),
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	}
	for _, ic := range intermediates {
		opts.Intermediates.AddCert(ic)
	}
	if _, err := leaf.Verify(opts); err != nil {
		return explainVerify(leaf, usage, err)
	}
	return nil
}

// peerUsages requires leaf to list ExtKeyUsageServerAuth and
// ExtKeyUsageClientAuth explicitly, as every zone server's leaf does (Issue
// sets both): a leaf without them, or with only "any usage", is no peer's.
func peerUsages(leaf *x509.Certificate) error {
	var server, client bool
	for _, u := range leaf.ExtKeyUsage {
		server = server || u == x509.ExtKeyUsageServerAuth
		client = client || u == x509.ExtKeyUsageClientAuth
	}
	if !server || !client {
		return fmt.Errorf("certificate %s is no zone peer's: it must list both extended key usages TLS Web Server Authentication and TLS Web Client Authentication", describe(leaf))
	}
	return nil
}

// explainVerify turns an x509 verification error into a reason an operator
// can act on.
func explainVerify(leaf *x509.Certificate, usage x509.ExtKeyUsage, err error) error {
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	switch {
	case leaf == nil:
		return err
	case errors.As(err, &unknown):
		return fmt.Errorf("certificate %s from another CA (issued by %q, not by this zone's CA): %w", describe(leaf), leaf.Issuer.CommonName, err)
	case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
		return fmt.Errorf("certificate %s is expired or not yet valid (valid %s to %s; check the clocks): %w", describe(leaf),
			leaf.NotBefore.UTC().Format(time.RFC3339), leaf.NotAfter.UTC().Format(time.RFC3339), err)
	case errors.As(err, &invalid) && invalid.Reason == x509.IncompatibleUsage:
		return fmt.Errorf("certificate %s is not valid for %s: %w", describe(leaf), usageName(usage), err)
	default:
		return fmt.Errorf("certificate %s: %w", describe(leaf), err)
	}
}

// HandshakeError classifies an inbound handshake error of a ServerConfig
// listener: a client certificate that crypto/tls refused (another CA,
// expired, wrong usage) or a missing one on a peer ALPN becomes an error
// wrapping ErrUnauthorizedPeer with the reason; other errors (and nil) are
// returned unchanged.
func HandshakeError(err error) error {
	if err == nil || errors.Is(err, ErrUnauthorizedPeer) {
		return err
	}
	var cve *tls.CertificateVerificationError
	if errors.As(err, &cve) {
		var leaf *x509.Certificate
		if len(cve.UnverifiedCertificates) > 0 {
			leaf = cve.UnverifiedCertificates[0]
		}
		return fmt.Errorf("%w: client %w", ErrUnauthorizedPeer, explainVerify(leaf, x509.ExtKeyUsageClientAuth, cve.Err))
	}
	// crypto/tls has no sentinel for this one.
	if strings.Contains(err.Error(), "client didn't provide a certificate") {
		return fmt.Errorf("%w: client offered a zone protocol without a certificate: %w", ErrUnauthorizedPeer, err)
	}
	return err
}

// authorize asks authz and makes its refusal name the peer and wrap
// ErrUnauthorizedPeer.
func authorize(ctx context.Context, authz Authorizer, leaf *x509.Certificate, dialed, who string) error {
	if authz == nil {
		return fmt.Errorf("%w: %s with certificate %s: no authorizer configured", ErrUnauthorizedPeer, who, describe(leaf))
	}
	err := authz.AuthorizePeer(ctx, leaf, dialed)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrUnauthorizedPeer):
		return fmt.Errorf("%s with certificate %s: %w", who, describe(leaf), err)
	default:
		return fmt.Errorf("%w: %s with certificate %s: %w", ErrUnauthorizedPeer, who, describe(leaf), err)
	}
}

// describe names a certificate for logs: its zone identity or its subject,
// and its serial.
func describe(cert *x509.Certificate) string {
	if cert == nil {
		return "<none>"
	}
	if id, ok := PeerIdentity(cert); ok {
		return fmt.Sprintf("of %s (serial %s)", id, cert.SerialNumber.Text(16))
	}
	return fmt.Sprintf("%q (serial %s)", cert.Subject.CommonName, cert.SerialNumber.Text(16))
}

func usageName(u x509.ExtKeyUsage) string {
	switch u {
	case x509.ExtKeyUsageServerAuth:
		return "server authentication"
	case x509.ExtKeyUsageClientAuth:
		return "client authentication"
	}
	return fmt.Sprintf("extended key usage %d", u)
}

func isPeerALPN(p string) bool { return p == ALPNRaft || p == ALPNPeer }
