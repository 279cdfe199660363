package zoneca

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
)

// maxPEMFile bounds every certificate or key file this package reads.
const maxPEMFile = 1 << 20

// readBounded reads a file of at most maxPEMFile bytes.
func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAllBounded(f, path)
}

func readAllBounded(f *os.File, path string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(f, maxPEMFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxPEMFile {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, maxPEMFile)
	}
	return data, nil
}

// parseCertsPEM returns every CERTIFICATE block of data, at least one.
func parseCertsPEM(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	return certs, nil
}

// loadKey reads a PEM private key from path after checking that its mode has
// none of the forbidden permission bits (ErrInsecureFile otherwise). Errors
// never contain key bytes.
func loadKey(path string, forbidden os.FileMode) (crypto.Signer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("zoneca: reading key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("zoneca: reading key: %w", err)
	}
	if perm := st.Mode().Perm(); perm&forbidden != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; a private key must not be accessible by group or others (chmod 600 %s)", ErrInsecureFile, path, perm, path)
	}
	data, err := readAllBounded(f, path)
	if err != nil {
		return nil, fmt.Errorf("zoneca: reading key: %w", err)
	}
	key, err := parseKeyPEM(data)
	if err != nil {
		return nil, fmt.Errorf("zoneca: key %s: %w", path, err)
	}
	return key, nil
}

func parseKeyPEM(data []byte) (crypto.Signer, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no PEM private key block")
		}
		var (
			k   any
			err error
		)
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, errors.New("malformed " + b.Type + " block") // not err: no key bytes in messages
		}
		s, ok := k.(crypto.Signer)
		if !ok {
			return nil, errors.New("unsupported private key type")
		}
		return s, nil
	}
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	switch k := a.(type) {
	case *ecdsa.PublicKey:
		return k.Equal(b)
	case *rsa.PublicKey:
		return k.Equal(b)
	case ed25519.PublicKey:
		return k.Equal(b)
	}
	return false
}

// randomSerial is a random positive 128-bit certificate serial number.
func randomSerial() (*big.Int, error) {
	var b [16]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return nil, fmt.Errorf("zoneca: serial: %w", err)
		}
		if n := new(big.Int).SetBytes(b[:]); n.Sign() > 0 {
			return n, nil
		}
	}
}

// writeNewFile writes data to a temporary file in path's folder with exactly
// mode perm, syncs it, and links it to path; it fails (fs.ErrExist) rather
// than replace an existing path, so a reader sees no file or the whole file.
func writeNewFile(path string, data []byte, perm os.FileMode) error {
	return writeFileVia(path, data, perm, "", os.Link)
}

// replaceFile writes data to a temporary file in path's folder with exactly
// mode perm and the owner of the file like, syncs it and renames it over
// path, so a reader sees the old or the new content, never part of either.
func replaceFile(path string, data []byte, perm os.FileMode, like string) error {
	return writeFileVia(path, data, perm, like, os.Rename)
}

// writeFileVia writes a synced temporary file beside path (mode perm, the
// owner of like when like is set) and puts it in place with place (os.Link:
// never replace; os.Rename: replace atomically), then syncs the folder.
func writeFileVia(path string, data []byte, perm os.FileMode, like string, place func(oldname, newname string) error) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("zoneca: %w", err)
	}
	name := tmp.Name()
	defer os.Remove(name) // after a rename: already gone
	err = tmp.Chmod(perm)
	if err == nil && like != "" {
		err = copyOwner(tmp, like)
	}
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = place(name, path)
	}
	if err != nil {
		return fmt.Errorf("zoneca: writing %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
