package oned_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/zoneca"
)

// rotateStep runs `oned zone-ca rotate --step n` as an operator would, on
// server 0's config (the zone's servers share the CA folder z.Dir).
func rotateStep(t *testing.T, z *harness.ProcZone, n int) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(z.Bin, "oned"), "zone-ca", "rotate", "--step", strconv.Itoa(n), "--config", z.Servers[0].Config).CombinedOutput()
	if err != nil {
		t.Fatalf("oned zone-ca rotate --step %d: %v\n%s", n, err, out)
	}
	return string(out)
}

// writeEverywhere writes one more row through the current leader and waits
// until every server has it: all three are connected over zone TLS.
func writeEverywhere(t *testing.T, z *harness.ProcZone, rows *int64, why string) {
	t.Helper()
	z.WaitVoters(len(z.Servers), 60*time.Second)
	leader := z.Leader(20 * time.Second)
	call(t, leader, "one.sql.exec", []any{[]any{"INSERT INTO vm (id, name) VALUES (?, 'x')", *rows}})
	*rows++
	for _, o := range z.Servers {
		waitCount(t, o, *rows, 30*time.Second, why)
	}
}

// rollingRestart restarts the servers one at a time, each time waiting for
// a leader, all voters, and a write that reaches every server.
func rollingRestart(t *testing.T, z *harness.ProcZone, rows *int64, step int) {
	t.Helper()
	for _, o := range z.Servers {
		o.Stop()
		o.Start()
		writeEverywhere(t, z, rows, "step "+strconv.Itoa(step)+": write after restarting server "+strconv.Itoa(o.ID))
	}
}

// caFrom is a CA signing with key (PEM) and the first of certs, trusting
// all of certs: a server at some step of a rotation.
func caFrom(t *testing.T, key []byte, certs ...*x509.Certificate) *zoneca.CA {
	t.Helper()
	dir := t.TempDir()
	var bundle []byte
	for _, c := range certs {
		bundle = append(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	crt, kp := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	if err := os.WriteFile(crt, bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kp, key, 0o600); err != nil {
		t.Fatal(err)
	}
	ca, _, err := zoneca.EnsureCA(crt, kp, false)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func keyPEM(t *testing.T, ca *zoneca.CA) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// TestZoneCARotationKeepsTheZoneWriting: the three rotation steps, each
// followed by a rolling restart of a 3-server zone, never stop the zone
// from committing writes on every server; afterwards every server presents
// a leaf of the new CA and a peer certificate of the old CA is refused.
func TestZoneCARotationKeepsTheZoneWriting(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	old := zoneCA(t, z)
	seedRows(t, z.Leader(20*time.Second), 2)
	rows := int64(2)
	writeEverywhere(t, z, &rows, "before the rotation")

	for step := 1; step <= 3; step++ {
		out := rotateStep(t, z, step)
		if !strings.Contains(out, "step "+strconv.Itoa(step)+" of 3 done") {
			t.Fatalf("step %d printed %q", step, out)
		}
		rollingRestart(t, z, &rows, step)
		if step != 2 {
			continue
		}
		cur := zoneCA(t, z) // signs with NEW, trusts both
		if cur.Cert.Equal(old.Cert) {
			t.Fatal("after step 2 the folder still signs with the old CA")
		}
		creds := credsFor(t, cur, 0)
		for _, o := range z.Servers {
			leaf := presentedLeaf(t, o, creds)
			if err := leaf.CheckSignatureFrom(cur.Cert); err != nil {
				t.Errorf("after step 2 server %d presents a leaf not signed by the new CA (issuer %q): %v", o.ID, leaf.Issuer.CommonName, err)
			}
		}
		// Still trusted during the rotation: an old-CA leaf gets through.
		if _, err := zoneRPC(t, z, z.Servers[1], credsFor(t, caFrom(t, keyPEM(t, old), old.Cert, cur.Cert), 0)); err != nil {
			t.Fatalf("after step 2 a leaf of the old CA must still be accepted: %v", err)
		}
	}
	cur := zoneCA(t, z)
	// The refused peer trusts the new CA too: the refusal is the server's.
	refusedByEvery(t, z, credsFor(t, caFrom(t, keyPEM(t, old), old.Cert, cur.Cert), 1), credsFor(t, cur, 1))
	writeEverywhere(t, z, &rows, "after the rotation")
}

// refusedByEvery asserts that every server refuses bad's leaf for a
// server-to-server call and for Raft (the handshake fails or the server
// closes the connection at once), while good's leaf gets a call through.
func refusedByEvery(t *testing.T, z *harness.ProcZone, bad, good *zoneca.Creds) {
	t.Helper()
	for _, o := range z.Servers {
		if _, err := zoneRPC(t, z, o, good); err != nil {
			t.Fatalf("control: server %d refused a leaf of the current CA: %v", o.ID, err)
		}
		if doc, err := zoneRPC(t, z, o, bad); err == nil {
			t.Errorf("server %d answered a server-to-server call from a leaf of the old CA: %s", o.ID, doc)
		}
		cfg := &tls.Config{InsecureSkipVerify: true, NextProtos: []string{zoneca.ALPNRaft},
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return bad.Certificate(), nil }}
		conn, err := (&attackLayer{tlsCfg: cfg}).Dial(raftAddr(o), 5*time.Second)
		if err != nil {
			continue // refused in the handshake
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = conn.Read(make([]byte, 1)) // TLS 1.3: the refusal arrives after the client's side completed
		conn.Close()
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Errorf("server %d kept a Raft connection from a leaf of the old CA open", o.ID)
		}
	}
}

// waitEvery polls cond for every server until it holds (30 s each).
func waitEvery(t *testing.T, z *harness.ProcZone, what string, cond func(o *harness.Oned) bool) {
	t.Helper()
	for _, o := range z.Servers {
		deadline := time.Now().Add(30 * time.Second)
		for !cond(o) {
			if time.Now().After(deadline) {
				t.Fatalf("server %d: %s:\n%s", o.ID, what, o.LogTail(20))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestZoneCARotationWithoutRestartKeepsTheZoneWriting: running servers
// follow each rotation step by reloading the CA folder (TLS.RELOAD_S), no
// restart: after step 1 they accept leaves of NEW, after step 2 present
// leaves of NEW, after step 3 refuse leaves of OLD; writes reach every
// server after each step.
func TestZoneCARotationWithoutRestartKeepsTheZoneWriting(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3, Extra: "TLS: {RELOAD_S: 1}\n"})
	z.FormZone()
	old := zoneCA(t, z)
	seedRows(t, z.Leader(20*time.Second), 1)
	rows := int64(1)
	writeEverywhere(t, z, &rows, "before the rotation")

	rotateStep(t, z, 1)
	bundle := zoneCA(t, z) // OLD, NEW
	nextKey, err := os.ReadFile(zoneca.NextKeyPath(filepath.Join(z.Dir, "zone-ca.key")))
	if err != nil {
		t.Fatal(err)
	}
	var newCert *x509.Certificate
	for _, c := range pemCerts(t, filepath.Join(z.Dir, "zone-ca.crt")) {
		if !c.Equal(old.Cert) {
			newCert = c
		}
	}
	newPeer := credsFor(t, caFrom(t, nextKey, newCert, old.Cert), 0)
	waitEvery(t, z, "never accepted a leaf of the new CA after step 1", func(o *harness.Oned) bool {
		_, err := zoneRPC(t, z, o, newPeer)
		return err == nil
	})
	writeEverywhere(t, z, &rows, "after step 1")

	rotateStep(t, z, 2)
	probe := credsFor(t, bundle, 0) // trusts both
	waitEvery(t, z, "never presented a leaf of the new CA after step 2", func(o *harness.Oned) bool {
		return presentedLeaf(t, o, probe).CheckSignatureFrom(newCert) == nil
	})
	writeEverywhere(t, z, &rows, "after step 2")

	rotateStep(t, z, 3)
	oldPeer := credsFor(t, caFrom(t, keyPEM(t, old), old.Cert, newCert), 0)
	waitEvery(t, z, "still accepts a leaf of the old CA after step 3", func(o *harness.Oned) bool {
		_, err := zoneRPC(t, z, o, oldPeer)
		return err != nil
	})
	refusedByEvery(t, z, credsFor(t, caFrom(t, keyPEM(t, old), old.Cert, newCert), 1), credsFor(t, zoneCA(t, z), 1))
	writeEverywhere(t, z, &rows, "after step 3")
}

func pemCerts(t *testing.T, path string) []*x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []*x509.Certificate
	for {
		var b *pem.Block
		if b, data = pem.Decode(data); b == nil {
			return out
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

// TestZoneCARotationStepOutOfOrderRefused: `oned zone-ca rotate --step 2`
// on a folder where step 1 was not run fails, says which step is next, and
// the zone keeps its CA.
func TestZoneCARotationStepOutOfOrderRefused(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 1})
	z.FormFirst()
	before := zoneCA(t, z)
	out, err := exec.Command(filepath.Join(z.Bin, "oned"), "zone-ca", "rotate", "--step", "2", "--config", z.Servers[0].Config).CombinedOutput()
	if err == nil {
		t.Fatalf("step 2 before step 1 succeeded:\n%s", out)
	}
	for _, want := range []string{"not ready for this rotation step", "step 2 asked", "next step is 1", "oned zone-ca rotate --step 1"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("refusal %q does not say %q", out, want)
		}
	}
	if !zoneCA(t, z).Cert.Equal(before.Cert) {
		t.Fatal("a refused step changed the CA")
	}
	st, err := exec.Command(filepath.Join(z.Bin, "oned"), "zone-ca", "rotate", "--config", z.Servers[0].Config).CombinedOutput()
	if err != nil || !strings.Contains(string(st), "next: oned zone-ca rotate --step 1") {
		t.Fatalf("status: %v\n%s", err, st)
	}
}
