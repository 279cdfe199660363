package zoneca

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"
)

// TestZoneCAReloadFollowsRotationWithoutRestart: running auto credentials
// watching the CA folder follow each rotation step: after step 1 they trust
// NEW and still present an OLD leaf, after step 2 they present a NEW leaf,
// after step 3 they refuse OLD; a folder that does not load (key of another
// CA) is logged and the current CA kept; renewal goes on after a reload.
func TestZoneCAReloadFollowsRotationWithoutRestart(t *testing.T) {
	f, old := newRotFolder(t)
	var logs logBuffer
	creds, err := NewAutoCreds(f.load(t), Identity{0, 1}, func() []string { return []string{"127.0.0.1"} }, 3*time.Second, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	creds.WatchCA(f.crt, f.key, 20*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() { creds.Run(ctx); close(done) }()
	trustsNow := func(signer *CA) bool {
		t.Helper()
		cert, err := signer.Issue(Identity{0, 2}, []string{"127.0.0.1"}, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return VerifyLeaf(creds.Pool(), cert.Leaf, nil, x509.ExtKeyUsageClientAuth, time.Now()) == nil
	}
	signedBy := func(ca *CA) bool { return creds.Leaf().CheckSignatureFrom(ca.Cert) == nil }

	if _, err := RotateCA(f.crt, f.key, RotateTrust, time.Now()); err != nil {
		t.Fatal(err)
	}
	next := &CA{Cert: mustCerts(t, f.crt)[1]}
	if next.Key, err = loadKey(NextKeyPath(f.key), 0o077); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "step 1: trusting the new CA", func() bool { return trustsNow(next) })
	if !signedBy(old) || !trustsNow(old) {
		t.Fatal("after step 1 the leaf must still be signed by the old CA, which stays trusted")
	}

	// A folder that does not load: the key of another CA. Kept, logged.
	saved := mustRead(t, f.key)
	other, _ := newRotFolder(t)
	if err := replaceFile(f.key, mustRead(t, other.key), 0o600, f.key); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the bad folder to be logged", func() bool {
		return strings.Contains(logs.String(), "reloading the zone CA failed")
	})
	if !signedBy(old) || !trustsNow(next) {
		t.Fatal("a folder that does not load replaced the working CA")
	}
	if err := replaceFile(f.key, saved, 0o600, f.key); err != nil {
		t.Fatal(err)
	}

	if _, err := RotateCA(f.crt, f.key, RotateSign, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "step 2: a leaf of the new CA", func() bool { return signedBy(next) })
	if !trustsNow(old) {
		t.Fatal("after step 2 the old CA must still be trusted")
	}
	if _, err := RotateCA(f.crt, f.key, RotateDrop, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "step 3: the old CA no longer trusted", func() bool { return !trustsNow(old) })
	if !trustsNow(next) || !signedBy(next) {
		t.Fatal("after step 3 the new CA must sign and be trusted")
	}

	// Renewal at 2/3 of the lifetime still runs after the reloads.
	serial := creds.Leaf().SerialNumber
	waitFor(t, 10*time.Second, "a renewal after the reloads", func() bool { return creds.Leaf().SerialNumber.Cmp(serial) != 0 })
	if strings.Contains(logs.String(), "PRIVATE KEY") {
		t.Error("key material in the log")
	}
}

func mustCerts(t *testing.T, path string) []*x509.Certificate {
	t.Helper()
	certs, err := parseCertsPEM(mustRead(t, path))
	if err != nil {
		t.Fatal(err)
	}
	return certs
}
