package zoneca

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Rotating the zone CA without downtime takes three steps, each followed by
// copying the CA folder to every server and waiting until every server has
// reloaded it (Creds.WatchCA) or was restarted:
//
//  1. RotateTrust: a new CA is created; the certificate file becomes the
//     bundle OLD,NEW (sign with OLD, trust both) and the new key waits in
//     NextKeyPath. Restarted servers trust leaves of both CAs.
//  2. RotateSign: the key file becomes NEW's, the bundle NEW,OLD. Restarted
//     servers issue their leaves with NEW; servers still on step 1 trust it.
//  3. RotateDrop: the bundle becomes NEW alone. Restarted servers refuse
//     leaves signed by OLD; every server already signs with NEW.
//
// Each step checks that the folder is in the state the previous step left
// (RotationStatus) and refuses otherwise with ErrRotationState.

// RotationStep is one step of a zone CA rotation (1, 2 or 3).
type RotationStep int

// The steps of a rotation, in order.
const (
	RotateTrust RotationStep = 1 // trust OLD and NEW, sign with OLD
	RotateSign  RotationStep = 2 // sign with NEW, trust both
	RotateDrop  RotationStep = 3 // trust NEW only
)

// RotationState is what a CA folder holds, as far as rotation is concerned.
type RotationState int

const (
	// NotRotating: one CA, its key; the next step is RotateTrust.
	NotRotating RotationState = iota
	// Trusting: bundle OLD,NEW, key OLD, NEW's key in NextKeyPath; next RotateSign.
	Trusting
	// Signing: bundle NEW,OLD, key NEW; next RotateDrop.
	Signing
)

// ErrRotationState: the CA folder is not in the state the requested
// rotation step needs (steps out of order, or a folder changed by hand).
var ErrRotationState = errors.New("zoneca: the zone CA folder is not ready for this rotation step")

// NextKeyPath is where step 1 keeps the new CA's key until step 2 makes it
// the signing key: keyPath + ".next" (mode 0600, in the same folder, so it
// travels with the folder).
func NextKeyPath(keyPath string) string { return keyPath + ".next" }

// Next is the step that follows this state.
func (s RotationState) Next() RotationStep { return RotationStep(s) + 1 }

func (s RotationState) String() string {
	switch s {
	case Trusting:
		return "step 1 done (trusting the old and the new CA, signing with the old)"
	case Signing:
		return "step 2 done (signing with the new CA, still trusting the old)"
	default:
		return "not rotating (one CA)"
	}
}

// caFolder is a CA folder as read for rotation.
type caFolder struct {
	certPath, keyPath string
	certs             []*x509.Certificate
	keyIdx            int
	next              []byte // PEM of NextKeyPath, nil when absent
	nextIdx           int    // index of the certificate next matches, -1 none
	state             RotationState
}

// RotationStatus reads the CA folder and says which step was done last.
// A folder that matches no state of a rotation is an error wrapping
// ErrRotationState that says what was found.
func RotationStatus(certPath, keyPath string) (RotationState, error) {
	f, err := readCAFolder(certPath, keyPath)
	if err != nil {
		return NotRotating, err
	}
	return f.state, nil
}

func readCAFolder(certPath, keyPath string) (*caFolder, error) {
	f := &caFolder{certPath: certPath, keyPath: keyPath, keyIdx: -1, nextIdx: -1}
	data, err := readBounded(certPath)
	if err != nil {
		return nil, fmt.Errorf("zoneca: reading CA certificate: %w", err)
	}
	if f.certs, err = parseCertsPEM(data); err != nil {
		return nil, fmt.Errorf("zoneca: CA certificate %s: %w", certPath, err)
	}
	for _, c := range f.certs {
		if !c.IsCA || !c.BasicConstraintsValid {
			return nil, fmt.Errorf("zoneca: %s holds %q, which is not a CA certificate", certPath, c.Subject.CommonName)
		}
	}
	key, _, err := readKeyFile(keyPath)
	if err != nil {
		return nil, err
	}
	f.keyIdx = matchingCert(f.certs, key)
	if next, nextPEM, err := readKeyFile(NextKeyPath(keyPath)); err == nil {
		f.next, f.nextIdx = nextPEM, matchingCert(f.certs, next)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	names := describeCerts(f.certs)
	switch {
	case len(f.certs) == 1 && f.keyIdx == 0:
		f.state = NotRotating // a next key left by a crash or a stale copy is ignored; step 1 replaces it
	case len(f.certs) == 2 && f.keyIdx == 0 && f.nextIdx == 1:
		f.state = Trusting
	case len(f.certs) == 2 && f.keyIdx == 1 && f.nextIdx == 1:
		f.state = Trusting // step 2 was interrupted after writing the key; running it again completes it
	case len(f.certs) == 2 && f.keyIdx == 0 && (f.next == nil || f.nextIdx == 0):
		f.state = Signing // a next key equal to the signing key is a leftover of step 2
	case f.keyIdx < 0:
		return nil, fmt.Errorf("%w: the key %s matches none of the certificates in %s (%s); copy the folder again from the server where the rotation was run", ErrRotationState, keyPath, certPath, names)
	case len(f.certs) > 2:
		return nil, fmt.Errorf("%w: %s holds %d certificates (%s); a rotation handles 1 or 2, remove the ones no longer used (keep the one matching %s first)", ErrRotationState, certPath, len(f.certs), names, keyPath)
	default:
		return nil, fmt.Errorf("%w: %s holds %s but %s does not hold the key of the second one; this folder was not left by `oned zone-ca rotate --step 1` (copy it again from the server where the rotation was run)", ErrRotationState, certPath, names, NextKeyPath(keyPath))
	}
	return f, nil
}

// readKeyFile reads a private key file (mode 0600 or stricter) and returns
// its public key and its PEM. A missing file wraps fs.ErrNotExist.
func readKeyFile(path string) (crypto.PublicKey, []byte, error) {
	k, err := loadKey(path, 0o077)
	if err != nil {
		return nil, nil, err
	}
	pemData, err := readBounded(path)
	if err != nil {
		return nil, nil, fmt.Errorf("zoneca: reading key: %w", err)
	}
	return k.Public(), pemData, nil
}

func matchingCert(certs []*x509.Certificate, pub crypto.PublicKey) int {
	for i, c := range certs {
		if publicKeysEqual(c.PublicKey, pub) {
			return i
		}
	}
	return -1
}

func describeCerts(certs []*x509.Certificate) string {
	s := ""
	for i, c := range certs {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%q", c.Subject.CommonName)
	}
	return s
}

// RotateCA performs one step of a zone CA rotation on the folder of certPath
// and keyPath, under the same lock EnsureCA takes, and returns the CA whose
// key now signs. It refuses (ErrRotationState) a step that is not the next
// one for the folder's state, changing nothing. Every file is written to a
// temporary file (key 0600, certificate 0644, owner and group of the file
// it replaces), synced and renamed over its name, so a reader sees an old or a new file, never part of one; a crash
// between two files leaves a state RotationStatus recognises and the same
// step completes.
func RotateCA(certPath, keyPath string, step RotationStep, now time.Time) (*CA, error) {
	if step < RotateTrust || step > RotateDrop {
		return nil, fmt.Errorf("zoneca: rotation step %d: there are steps 1, 2 and 3", step)
	}
	unlock, err := lockFile(keyPath + ".lock")
	if err != nil {
		return nil, err
	}
	defer unlock()
	f, err := readCAFolder(certPath, keyPath)
	if err != nil {
		return nil, err
	}
	if next := f.state.Next(); step != next {
		return nil, fmt.Errorf("%w: step %d asked, but the folder shows %s; the next step is %d (`oned zone-ca rotate --step %d`)", ErrRotationState, step, f.state, next, next)
	}
	switch step {
	case RotateTrust:
		err = f.trust(now)
	case RotateSign:
		err = f.sign()
	default:
		err = f.drop()
	}
	if err != nil {
		return nil, err
	}
	return loadCA(certPath, keyPath)
}

// trust creates NEW: its key first (not yet named by any certificate of the
// bundle, so harmless if we stop here), then the bundle OLD,NEW.
func (f *caFolder) trust(now time.Time) error {
	dir := filepath.Dir(f.keyPath)
	tmp, err := os.MkdirTemp(dir, ".zone-ca-new")
	if err != nil {
		return fmt.Errorf("zoneca: %w", err)
	}
	defer os.RemoveAll(tmp)
	created, err := createCA(filepath.Join(tmp, "ca.crt"), filepath.Join(tmp, "ca.key"), now)
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(filepath.Join(tmp, "ca.key"))
	if err != nil {
		return fmt.Errorf("zoneca: %w", err)
	}
	if err := replaceFile(NextKeyPath(f.keyPath), keyPEM, 0o600, f.keyPath); err != nil {
		return err
	}
	return replaceFile(f.certPath, certsPEM(f.certs[0], created.Cert), 0o644, f.certPath)
}

// sign makes NEW (the second certificate) the signer: key first, then the
// bundle NEW,OLD, then the next key file goes.
func (f *caFolder) sign() error {
	if err := replaceFile(f.keyPath, f.next, 0o600, f.keyPath); err != nil {
		return err
	}
	if err := replaceFile(f.certPath, certsPEM(f.certs[1], f.certs[0]), 0o644, f.certPath); err != nil {
		return err
	}
	return removeFile(NextKeyPath(f.keyPath))
}

// drop leaves NEW alone in the bundle.
func (f *caFolder) drop() error {
	if err := replaceFile(f.certPath, certsPEM(f.certs[0]), 0o644, f.certPath); err != nil {
		return err
	}
	return removeFile(NextKeyPath(f.keyPath)) // a leftover of step 2, if any
}

func certsPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

func removeFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("zoneca: %w", err)
	}
	return nil
}
