package zoneca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// caValidity is the lifetime of a CA EnsureCA creates.
const caValidity = 10 * 365 * 24 * time.Hour

// CA is a zone CA. Key is nil when only the certificate is known (an
// operator's own PKI, or a CA certificate copied without its key); such a CA
// verifies peers but cannot Issue.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer

	more []*x509.Certificate // further certificates of the same PEM bundle
}

// Pool is a new pool holding the CA certificate (and any further
// certificates of the file it was loaded from).
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Cert)
	for _, c := range ca.more {
		p.AddCert(c)
	}
	return p
}

// EnsureCA loads the zone CA from certPath and keyPath. When both files are
// missing and create is true, it creates a new ECDSA P-256 self-signed CA
// (valid 10 years, CN "OneHA zone CA <random>") and writes the key (0600) and
// then the certificate (0644), each fully written and synced before it
// appears under its name, creating the folder (0700) if needed; created
// reports whether this call made it.
//
// Concurrent calls on the same paths, in one process or several, end with one
// CA: creation happens under an exclusive flock on keyPath+".lock" (left in
// place), re-checks the files under the lock, and links the files into place
// without ever replacing an existing one.
//
// Missing files with create false give an error wrapping ErrNoCA that tells
// the operator to copy the folder from the zone's first server. A key that
// does not match the certificate, a certificate that is not a CA, or a key
// file accessible by group or others (wrapping ErrInsecureFile) is an error;
// EnsureCA never replaces existing files.
func EnsureCA(certPath, keyPath string, create bool) (ca *CA, created bool, err error) {
	certOK, keyOK, err := caFilesExist(certPath, keyPath)
	if err != nil {
		return nil, false, err
	}
	if certOK && keyOK {
		ca, err := loadCA(certPath, keyPath)
		return ca, false, err
	}
	if !create {
		return nil, false, missingCAError(certPath, keyPath, certOK, keyOK)
	}
	if err := os.MkdirAll(filepath.Dir(keyPath), 0o700); err != nil {
		return nil, false, fmt.Errorf("zoneca: creating the CA folder: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return nil, false, fmt.Errorf("zoneca: creating the CA folder: %w", err)
	}
	unlock, err := lockFile(keyPath + ".lock")
	if err != nil {
		return nil, false, err
	}
	defer unlock()
	// Another process may have created the CA while we waited for the lock.
	certOK, keyOK, err = caFilesExist(certPath, keyPath)
	if err != nil {
		return nil, false, err
	}
	if certOK || keyOK {
		if !certOK || !keyOK {
			return nil, false, missingCAError(certPath, keyPath, certOK, keyOK)
		}
		ca, err := loadCA(certPath, keyPath)
		return ca, false, err
	}
	ca, err = createCA(certPath, keyPath, time.Now())
	if err != nil {
		return nil, false, err
	}
	return ca, true, nil
}

// LoadCACert loads a CA certificate file (PEM, possibly a bundle of several
// roots) without a key. The first certificate is CA.Cert; all are in Pool.
func LoadCACert(certPath string) (*CA, error) {
	data, err := readBounded(certPath)
	if err != nil {
		return nil, fmt.Errorf("zoneca: reading CA certificate: %w", err)
	}
	certs, err := parseCertsPEM(data)
	if err != nil {
		return nil, fmt.Errorf("zoneca: CA certificate %s: %w", certPath, err)
	}
	return &CA{Cert: certs[0], more: certs[1:]}, nil
}

func caFilesExist(certPath, keyPath string) (certOK, keyOK bool, err error) {
	exists := func(p string) (bool, error) {
		_, err := os.Stat(p)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, fs.ErrNotExist):
			return false, nil
		default:
			return false, fmt.Errorf("zoneca: %w", err)
		}
	}
	if certOK, err = exists(certPath); err != nil {
		return false, false, err
	}
	if keyOK, err = exists(keyPath); err != nil {
		return false, false, err
	}
	return certOK, keyOK, nil
}

func missingCAError(certPath, keyPath string, certOK, keyOK bool) error {
	switch {
	case !certOK && !keyOK:
		return fmt.Errorf("%w: neither %s nor %s exists; a server joining an existing zone needs the zone CA: copy this folder (both files, key mode 0600) from the zone's first server", ErrNoCA, certPath, keyPath)
	case !certOK:
		return fmt.Errorf("%w: CA key %s exists but its certificate %s is missing; copy both files from the zone's first server (on a first server that never ran, removing the key lets a new CA be created)", ErrNoCA, keyPath, certPath)
	default:
		return fmt.Errorf("%w: CA certificate %s exists but its key %s is missing; copy the key (mode 0600) from the zone's first server", ErrNoCAKey, certPath, keyPath)
	}
}

// loadCA loads an existing CA with its key and checks that they belong
// together and that the key file is private.
func loadCA(certPath, keyPath string) (*CA, error) {
	ca, err := LoadCACert(certPath)
	if err != nil {
		return nil, err
	}
	if !ca.Cert.IsCA || !ca.Cert.BasicConstraintsValid {
		return nil, fmt.Errorf("zoneca: %s is not a CA certificate", certPath)
	}
	key, err := loadKey(keyPath, 0o077)
	if err != nil {
		return nil, err
	}
	if !publicKeysEqual(ca.Cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("zoneca: CA key %s does not match CA certificate %s; copy both from the same server", keyPath, certPath)
	}
	ca.Key = key
	return ca, nil
}

// createCA makes a new CA and links key then certificate into place, so a
// present certificate implies a complete key. It never replaces a file.
func createCA(certPath, keyPath string, now time.Time) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("zoneca: generating CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	var suffix [4]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return nil, fmt.Errorf("zoneca: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "OneHA zone CA " + hex.EncodeToString(suffix[:])},
		NotBefore:             now.Add(-5 * time.Minute),
		NotAfter:              now.Add(caValidity),
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("zoneca: creating CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("zoneca: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("zoneca: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	if err := writeNewFile(keyPath, keyPEM, 0o600); err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := writeNewFile(certPath, certPEM, 0o644); err != nil {
		_ = os.Remove(keyPath) // ours: linked above, no certificate names it
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}
