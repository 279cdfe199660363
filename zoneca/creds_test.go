package zoneca

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRenewalReplacesLeafWithoutRestart(t *testing.T) {
	ca := newTestCA(t)
	const ttl = 3 * time.Second
	var hostCalls int
	srvCreds, err := NewAutoCreds(ca, Identity{0, 1}, func() []string {
		hostCalls++ // only Run's goroutine calls it after NewAutoCreds
		return []string{"127.0.0.1", "srv-" + string(rune('a'+hostCalls))}
	}, ttl, nil)
	if err != nil {
		t.Fatal(err)
	}
	cliCreds := newTestCreds(t, ca, Identity{0, 2}, ttl)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	t.Cleanup(func() { cancel(); <-done; <-done })
	for _, c := range []*Creds{srvCreds, cliCreds} {
		go func() { c.Run(ctx); done <- struct{}{} }()
	}

	first := srvCreds.Leaf()
	firstClient := cliCreds.Leaf()
	renewed := srvCreds.Renewed()
	table := newZoneTable(0, map[int]string{1: "", 2: ""})
	srv := startServer(t, ServerConfig(srvCreds, table, nil))
	table.set(1, srv.addr)

	// The first leaf is renewed at 2/3 of its lifetime, while it is valid.
	waitFor(t, 10*time.Second, "the server leaf to be replaced", func() bool {
		return srvCreds.Leaf().SerialNumber.Cmp(first.SerialNumber) != 0
	})
	select {
	case <-renewed:
	default:
		t.Error("Renewed() channel not closed after a renewal")
	}
	second := srvCreds.Leaf()
	if second.NotAfter.After(first.NotAfter) == false || !time.Now().Before(first.NotAfter) {
		t.Errorf("renewed late: first NotAfter %v, second %v, now %v", first.NotAfter, second.NotAfter, time.Now())
	}
	if !strings.HasPrefix(second.DNSNames[0], "srv-") || second.DNSNames[0] == first.DNSNames[0] {
		t.Errorf("hosts not asked again at renewal: %q then %q", first.DNSNames, second.DNSNames)
	}

	// Once the first leaves have expired, new handshakes still work both ways.
	waitFor(t, 10*time.Second, "the first leaves to expire", func() bool {
		return time.Now().After(first.NotAfter) && time.Now().After(firstClient.NotAfter)
	})
	if err := VerifyLeaf(ca.Pool(), first, nil, x509.ExtKeyUsageServerAuth, time.Now()); err == nil {
		t.Fatal("control: the first leaf still verifies; the test would prove nothing")
	}
	st, err := dialPeer(t, cliCreds, table, ALPNRaft, srv.addr)
	if err != nil {
		t.Fatalf("handshake after the first leaf expired: %v", err)
	}
	if st.PeerCertificates[0].SerialNumber.Cmp(first.SerialNumber) == 0 {
		t.Error("server presented its first, expired leaf")
	}
	r := srv.next(t)
	if r.err != nil {
		t.Fatalf("server: %v", r.err)
	}
	if r.state.PeerCertificates[0].SerialNumber.Cmp(firstClient.SerialNumber) == 0 {
		t.Error("client presented its first, expired leaf")
	}
}

// writePair writes a leaf and its key as the operator's PEM files, each
// replaced atomically.
func writePair(t *testing.T, cert tls.Certificate, certPath, keyPath string) {
	t.Helper()
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	writeAtomic(t, keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	writeAtomic(t, certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644)
}

func writeAtomic(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	tmp := path + ".new"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

func TestFileCredsReloadOnChange(t *testing.T) {
	// The operator's own PKI: a CA (cert only on the servers) and leaves.
	opCA := newTestCA(t)
	dir := t.TempDir()
	caPath, certPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	writeAtomic(t, caPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: opCA.Cert.Raw}), 0o644)
	leafA, _ := opCA.Issue(Identity{0, 1}, []string{"127.0.0.1"}, time.Hour, time.Now())
	leafB, _ := opCA.Issue(Identity{0, 1}, []string{"127.0.0.1"}, 2*time.Hour, time.Now())
	writePair(t, leafA, certPath, keyPath)

	var logs logBuffer
	creds, err := NewFileCredsPoll(caPath, certPath, keyPath, 20*time.Millisecond, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	if !creds.Leaf().Equal(leafA.Leaf) {
		t.Fatal("NewFileCreds did not load the files' certificate")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() { creds.Run(ctx); close(done) }()
	srv := startServer(t, ServerConfig(creds, allowAll, nil))
	client := newTestCreds(t, opCA, Identity{0, 2}, time.Hour)
	served := func() *x509.Certificate {
		t.Helper()
		st, err := dialPeer(t, client, allowAll, ALPNPeer, srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		if r := srv.next(t); r.err != nil {
			t.Fatal(r.err)
		}
		return st.PeerCertificates[0]
	}
	if !served().Equal(leafA.Leaf) {
		t.Fatal("server does not present the file certificate")
	}

	// A half-done rotation (new certificate, old key) is refused, logged,
	// and the old pair stays in use.
	writeAtomic(t, certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafB.Certificate[0]}), 0o644)
	waitFor(t, 10*time.Second, "the bad pair to be logged", func() bool {
		return strings.Contains(logs.String(), "does not match")
	})
	if !creds.Leaf().Equal(leafA.Leaf) || !served().Equal(leafA.Leaf) {
		t.Fatal("a mismatched pair replaced the working certificate")
	}
	if strings.Contains(logs.String(), "PRIVATE KEY") {
		t.Error("key material in the log")
	}

	// Completing the rotation takes effect without a restart.
	renewed := creds.Renewed()
	writePair(t, leafB, certPath, keyPath)
	select {
	case <-renewed:
	case <-time.After(10 * time.Second):
		t.Fatal("new files were not loaded")
	}
	if !creds.Leaf().Equal(leafB.Leaf) || !served().Equal(leafB.Leaf) {
		t.Fatal("server does not present the new certificate")
	}
	if strings.Contains(logs.String(), "expires soon") {
		t.Error("warned about a certificate with most of its lifetime left")
	}
}

func TestFileCredsWarnBeforeExpiry(t *testing.T) {
	opCA := newTestCA(t)
	dir := t.TempDir()
	caPath, certPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	writeAtomic(t, caPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: opCA.Cert.Raw}), 0o644)
	// 100 days long, 2 days left.
	leaf, _ := opCA.Issue(Identity{0, 1}, nil, 100*24*time.Hour, time.Now().Add(-98*24*time.Hour))
	writePair(t, leaf, certPath, keyPath)
	var logs logBuffer
	creds, err := NewFileCredsPoll(caPath, certPath, keyPath, 20*time.Millisecond, logs.logger())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() { creds.Run(ctx); close(done) }()
	waitFor(t, 10*time.Second, "an expiry warning", func() bool {
		return strings.Contains(logs.String(), "expires soon")
	})
}

func TestAutoCredsRefuseTinyLifetime(t *testing.T) {
	if _, err := NewAutoCreds(newTestCA(t), Identity{0, 1}, nil, time.Millisecond, nil); err == nil {
		t.Error("a 1ms certificate lifetime was accepted")
	}
}

func TestFileCredsRefuseUnusablePairs(t *testing.T) {
	opCA, otherCA := newTestCA(t), newTestCA(t)
	dir := t.TempDir()
	caPath, certPath, keyPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	writeAtomic(t, caPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: opCA.Cert.Raw}), 0o644)

	foreign, _ := otherCA.Issue(Identity{0, 1}, nil, time.Hour, time.Now())
	writePair(t, foreign, certPath, keyPath)
	_, err := NewFileCreds(caPath, certPath, keyPath, nil)
	mustContain(t, err, "another CA", certPath)

	good, _ := opCA.Issue(Identity{0, 1}, nil, time.Hour, time.Now())
	writePair(t, good, certPath, keyPath)
	os.Chmod(keyPath, 0o604)
	if _, err := NewFileCreds(caPath, certPath, keyPath, nil); !errors.Is(err, ErrInsecureFile) {
		t.Errorf("world-readable key: %v, want ErrInsecureFile", err)
	}
	os.Chmod(keyPath, 0o640) // group ssl-cert style is allowed
	if _, err := NewFileCreds(caPath, certPath, keyPath, nil); err != nil {
		t.Errorf("group-readable operator key: %v", err)
	}
}
