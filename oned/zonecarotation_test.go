package oned_test

import (
	"crypto/x509"
	"encoding/pem"
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

// oldSignerTrustingBoth is a server still at step 1: it signs with old and
// trusts old and cur.
func oldSignerTrustingBoth(t *testing.T, old, cur *zoneca.CA) *zoneca.CA {
	t.Helper()
	dir := t.TempDir()
	bundle := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: old.Cert.Raw}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cur.Cert.Raw})...)
	der, err := x509.MarshalPKCS8PrivateKey(old.Key)
	if err != nil {
		t.Fatal(err)
	}
	crt, key := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	if err := os.WriteFile(crt, bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	ca, _, err := zoneca.EnsureCA(crt, key, false)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// TestZoneCARotationKeepsTheZoneWriting: the three rotation steps, each
// followed by a rolling restart of a 3-server zone, never stop the zone
// from committing writes on every server; afterwards every server presents
// a leaf of the new CA and a peer certificate of the old CA is refused.
func TestZoneCARotationKeepsTheZoneWriting(t *testing.T) {
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
		if _, err := zoneRPC(t, z, z.Servers[1], credsFor(t, oldSignerTrustingBoth(t, old, cur), 0)); err != nil {
			t.Fatalf("after step 2 a leaf of the old CA must still be accepted: %v", err)
		}
	}
	refusedEverywhere(t, z, credsFor(t, old, 1), credsFor(t, zoneCA(t, z), 1))
	writeEverywhere(t, z, &rows, "after the rotation")
}

// TestZoneCARotationStepOutOfOrderRefused: `oned zone-ca rotate --step 2`
// on a folder where step 1 was not run fails, says which step is next, and
// the zone keeps its CA.
func TestZoneCARotationStepOutOfOrderRefused(t *testing.T) {
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
