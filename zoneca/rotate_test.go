package zoneca

import (
	"bytes"
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// rotFolder is a zone CA folder as a server sees it.
type rotFolder struct{ crt, key string }

func newRotFolder(t *testing.T) (rotFolder, *CA) {
	t.Helper()
	dir := t.TempDir()
	f := rotFolder{filepath.Join(dir, "zone-ca.crt"), filepath.Join(dir, "zone-ca.key")}
	ca, _, err := EnsureCA(f.crt, f.key, true)
	if err != nil {
		t.Fatal(err)
	}
	return f, ca
}

// load is what a restarting server does: EnsureCA without create.
func (f rotFolder) load(t *testing.T) *CA {
	t.Helper()
	ca, _, err := EnsureCA(f.crt, f.key, false)
	if err != nil {
		t.Fatalf("a server could not load the folder: %v", err)
	}
	return ca
}

func (f rotFolder) snapshot(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, p := range []string{f.crt, f.key, NextKeyPath(f.key)} {
		if b, err := os.ReadFile(p); err == nil {
			out[p] = b
		} else if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	return out
}

// trusts reports whether a peer using ca's pool accepts a leaf issued by signer.
func trusts(t *testing.T, ca, signer *CA) bool {
	t.Helper()
	cert, err := signer.Issue(Identity{ZoneID: 0, ServerID: 1}, []string{"127.0.0.1"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if VerifyLeaf(ca.Pool(), cert.Leaf, nil, u, time.Now()) != nil {
			return false
		}
	}
	return true
}

func keyMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

// TestZoneCARotationStepsTrustThenSignThenDrop: after step 1 a server signs
// with OLD and trusts OLD and NEW; after step 2 it signs with NEW and trusts
// both; after step 3 it trusts only NEW. Keys stay 0600 and no temporary
// file is left in the folder.
func TestZoneCARotationStepsTrustThenSignThenDrop(t *testing.T) {
	f, old := newRotFolder(t)
	if st, err := RotationStatus(f.crt, f.key); err != nil || st != NotRotating {
		t.Fatalf("fresh folder: %v, %v", st, err)
	}

	if _, err := RotateCA(f.crt, f.key, RotateTrust, time.Now()); err != nil {
		t.Fatal(err)
	}
	s1 := f.load(t)
	if !s1.Cert.Equal(old.Cert) {
		t.Fatal("after step 1 the signer must still be the old CA")
	}
	next, err := loadCA(f.crt, NextKeyPath(f.key)) // wrong pairing on purpose: must fail
	if err == nil || next != nil {
		t.Fatal("the next key must not match the signing certificate after step 1")
	}
	if m := keyMode(t, NextKeyPath(f.key)); m != 0o600 {
		t.Fatalf("next key mode %04o, want 0600", m)
	}
	certs, err := parseCertsPEM(mustRead(t, f.crt))
	if err != nil || len(certs) != 2 {
		t.Fatalf("bundle after step 1: %d certs, %v", len(certs), err)
	}
	newCA := &CA{Cert: certs[1]}
	newCA.Key, err = loadKey(NextKeyPath(f.key), 0o077)
	if err != nil {
		t.Fatal(err)
	}
	if !trusts(t, s1, old) || !trusts(t, s1, newCA) {
		t.Fatal("after step 1 a server must trust leaves of both CAs")
	}
	if st, _ := RotationStatus(f.crt, f.key); st != Trusting {
		t.Fatalf("status after step 1: %v", st)
	}

	if _, err := RotateCA(f.crt, f.key, RotateSign, time.Now()); err != nil {
		t.Fatal(err)
	}
	s2 := f.load(t)
	if !s2.Cert.Equal(newCA.Cert) {
		t.Fatal("after step 2 the signer must be the new CA")
	}
	if !trusts(t, s2, old) || !trusts(t, s2, newCA) || !trusts(t, s1, s2) {
		t.Fatal("after step 2 servers of steps 1 and 2 must accept each other")
	}
	if _, err := os.Stat(NextKeyPath(f.key)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the next key must be gone after step 2: %v", err)
	}
	if m := keyMode(t, f.key); m != 0o600 {
		t.Fatalf("key mode %04o after step 2, want 0600", m)
	}
	if st, _ := RotationStatus(f.crt, f.key); st != Signing {
		t.Fatalf("status after step 2: %v", st)
	}

	if _, err := RotateCA(f.crt, f.key, RotateDrop, time.Now()); err != nil {
		t.Fatal(err)
	}
	s3 := f.load(t)
	if !s3.Cert.Equal(newCA.Cert) || trusts(t, s3, old) || !trusts(t, s3, s2) || !trusts(t, s2, s3) {
		t.Fatal("after step 3 a server must trust the new CA only")
	}
	if st, _ := RotationStatus(f.crt, f.key); st != NotRotating {
		t.Fatalf("status after step 3: %v", st)
	}
	ents, _ := os.ReadDir(filepath.Dir(f.key))
	for _, e := range ents {
		if n := e.Name(); n != "zone-ca.crt" && n != "zone-ca.key" && n != "zone-ca.key.lock" {
			t.Errorf("left in the folder: %s", n)
		}
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestZoneCARotationRefusesStepsOutOfOrder: a step that is not the next one
// is refused with the step to run instead, and changes no file.
func TestZoneCARotationRefusesStepsOutOfOrder(t *testing.T) {
	f, _ := newRotFolder(t)
	try := func(step RotationStep, want ...string) {
		t.Helper()
		before := f.snapshot(t)
		_, err := RotateCA(f.crt, f.key, step, time.Now())
		if !errors.Is(err, ErrRotationState) {
			t.Fatalf("step %d: got %v, want ErrRotationState", step, err)
		}
		mustContain(t, err, want...)
		after := f.snapshot(t)
		if len(after) != len(before) {
			t.Fatalf("step %d refused but the folder changed", step)
		}
		for p, b := range before {
			if !bytes.Equal(after[p], b) {
				t.Fatalf("step %d refused but %s changed", step, p)
			}
		}
	}
	try(RotateSign, "step 2 asked", "next step is 1", "--step 1")
	try(RotateDrop, "step 3 asked", "next step is 1")
	if _, err := RotateCA(f.crt, f.key, RotateTrust, time.Now()); err != nil {
		t.Fatal(err)
	}
	try(RotateTrust, "step 1 asked", "step 1 done", "next step is 2")
	try(RotateDrop, "step 3 asked", "next step is 2")
	if _, err := RotateCA(f.crt, f.key, RotateSign, time.Now()); err != nil {
		t.Fatal(err)
	}
	try(RotateTrust, "next step is 3")
	try(RotateSign, "step 2 done", "next step is 3")
	if _, err := RotateCA(f.crt, f.key, 4, time.Now()); err == nil {
		t.Fatal("step 4 accepted")
	}
}

// TestZoneCARotationRefusesAHandMadeFolder: a folder no rotation step left
// (a next key of a third CA, a key matching no certificate) is refused with
// a message naming the file, and not taken for a rotation in progress.
func TestZoneCARotationRefusesAHandMadeFolder(t *testing.T) {
	f, old := newRotFolder(t)
	other, _ := newRotFolder(t)
	third, _ := newRotFolder(t)
	if err := replaceFile(f.crt, certsPEM(old.Cert, other.load(t).Cert), 0o644, f.key); err != nil {
		t.Fatal(err)
	}
	if err := replaceFile(NextKeyPath(f.key), mustRead(t, third.key), 0o600, f.key); err != nil {
		t.Fatal(err)
	}
	for _, step := range []RotationStep{RotateTrust, RotateSign, RotateDrop} {
		_, err := RotateCA(f.crt, f.key, step, time.Now())
		if !errors.Is(err, ErrRotationState) {
			t.Fatalf("step %d: got %v", step, err)
		}
		mustContain(t, err, NextKeyPath(f.key), "copy it again")
	}
	if err := replaceFile(f.key, mustRead(t, other.key), 0o600, f.key); err != nil {
		t.Fatal(err)
	}
	if err := replaceFile(f.crt, certsPEM(old.Cert), 0o644, f.key); err != nil {
		t.Fatal(err)
	}
	_, err := RotateCA(f.crt, f.key, RotateTrust, time.Now())
	mustContain(t, err, "matches none of the certificates", f.key)
}

// TestZoneCARotationStep2CompletesAfterACrash: step 2 interrupted after the
// key was replaced (key NEW, bundle still OLD,NEW) is recognised and the
// same step finishes it.
func TestZoneCARotationStep2CompletesAfterACrash(t *testing.T) {
	f, old := newRotFolder(t)
	if _, err := RotateCA(f.crt, f.key, RotateTrust, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := replaceFile(f.key, mustRead(t, NextKeyPath(f.key)), 0o600, f.key); err != nil {
		t.Fatal(err)
	}
	if st, err := RotationStatus(f.crt, f.key); err != nil || st != Trusting {
		t.Fatalf("interrupted step 2 read as %v, %v", st, err)
	}
	ca, err := RotateCA(f.crt, f.key, RotateSign, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if ca.Cert.Equal(old.Cert) || !trusts(t, f.load(t), old) {
		t.Fatal("step 2 after a crash must sign with the new CA and trust the old")
	}
}
