package zoneca

import "errors"

var (
	// ErrNoCA: the zone CA files are missing and were not to be created.
	ErrNoCA = errors.New("zoneca: no zone CA")
	// ErrNoCAKey: the CA has no private key, so it cannot issue certificates.
	ErrNoCAKey = errors.New("zoneca: zone CA key not available")
	// ErrInsecureFile: a private key file is accessible by group or others.
	ErrInsecureFile = errors.New("zoneca: insecure key file permissions")
	// ErrUnauthorizedPeer: a TLS peer was refused (wrong CA, no or unusable
	// certificate, wrong ALPN, or the Authorizer said no).
	ErrUnauthorizedPeer = errors.New("zoneca: unauthorized peer")
)
