package oned_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/xmlrpc"
	"github.com/oneha/oneha/zoneca"
)

// TestAPITLSServesXMLRPCOverTLS: with API_TLS the port serves XML-RPC over
// TLS with the operator's certificate; plain HTTP stays available unless
// PLAIN_HTTP is false, and is then refused.
func TestAPITLSServesXMLRPCOverTLS(t *testing.T) {
	bin := harness.Binaries(t)
	dir := t.TempDir()
	ca, _, err := zoneca.EnsureCA(filepath.Join(dir, "api-ca.crt"), filepath.Join(dir, "api-ca.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.Issue(zoneca.Identity{ServerID: zoneca.SoloServerID}, []string{"127.0.0.1"}, time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "api.crt"), filepath.Join(dir, "api.key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	auth := filepath.Join(dir, "one", "one_auth")
	os.MkdirAll(filepath.Dir(auth), 0o700)
	os.WriteFile(auth, []byte("oneadmin:pw\n"), 0o600)
	httpsClient := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}

	for _, plain := range []bool{true, false} {
		t.Run(fmt.Sprintf("PLAIN_HTTP %v", plain), func(t *testing.T) {
			port, err := harness.FreePort()
			if err != nil {
				t.Fatal(err)
			}
			sdir := t.TempDir()
			cfg := filepath.Join(sdir, "oned.yaml")
			os.WriteFile(cfg, []byte(fmt.Sprintf("LISTEN_ADDRESS: 127.0.0.1\nPORT: %d\nDATA_DIR: %s\nONE_AUTH: %s\nAPI_TLS: {CERT: %s, KEY: %s, PLAIN_HTTP: %v}\n",
				port, filepath.Join(sdir, "data"), auth, certFile, keyFile, plain)), 0o600)
			cmd := exec.Command(filepath.Join(bin, "oned"), "--config", cfg)
			cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			base := fmt.Sprintf("127.0.0.1:%d", port)
			tlsRPC := &xmlrpc.Client{URL: "https://" + base + "/RPC2", HTTP: httpsClient}
			deadline := time.Now().Add(30 * time.Second)
			for {
				if _, err = tlsRPC.CallONE(context.Background(), "one.system.version", "oneadmin:pw"); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("XML-RPC over TLS: %v", err)
				}
				time.Sleep(50 * time.Millisecond)
			}
			resp, err := httpsClient.Get("https://" + base + "/status")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(cert.Leaf.SerialNumber) != 0 {
				t.Fatalf("served certificate serial %s, want API_TLS.CERT's %s", got, cert.Leaf.SerialNumber)
			}
			_, err = xmlrpc.NewClient("http://"+base+"/RPC2", 5*time.Second).CallONE(context.Background(), "one.system.version", "oneadmin:pw")
			if plain && err != nil {
				t.Fatalf("plain HTTP refused with PLAIN_HTTP true: %v", err)
			}
			if !plain && err == nil {
				t.Fatal("plain HTTP answered with PLAIN_HTTP false")
			}
		})
	}
}

// TestPlaintextRaftFloodDoesNotExhaustServer: 4,000 connections that send
// the plaintext Raft byte and then nothing (issue 9's exhaustion) are each
// closed at once (as plaintext Raft, or at accept by the per-source pending
// cap), and the server keeps answering XML-RPC meanwhile.
func TestPlaintextRaftFloodDoesNotExhaustServer(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 1})
	z.FormFirst()
	o := z.Servers[0]
	addr := fmt.Sprintf("127.0.0.1:%d", o.Port)
	const total, open = 4000, 200
	// The attacker is another source than the XML-RPC client (127.0.0.1).
	attacker := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	conns := make(chan net.Conn, open)
	done := make(chan error, 1)
	go func() {
		defer close(conns)
		for i := 0; i < total; i++ {
			c, err := attacker.Dial("tcp", addr)
			if err != nil {
				done <- err
				return
			}
			c.Write([]byte{0x01})
			conns <- c
		}
		done <- nil
	}()
	go func() { // keep at most `open` of them on our side, as an attacker would
		var held []net.Conn
		for c := range conns {
			held = append(held, c)
			if len(held) == open {
				for _, h := range held {
					h.Close()
				}
				held = held[:0]
			}
		}
		for _, h := range held {
			h.Close()
		}
	}()
	for flooding := true; flooding; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("flood dial: %v", err)
			}
			flooding = false
		default:
		}
		call(t, o, "one.system.version")
	}
	// Each is closed at once: as a plaintext Raft connection, or already at
	// accept when its source has MaxPendingPerSource connections pending.
	refused := func() float64 {
		return metric(t, o, `oneha_port_refused_connections_total{reason="plain_raft"}`) +
			metric(t, o, `oneha_port_refused_connections_total{reason="max_pending_per_source"}`)
	}
	deadline := time.Now().Add(10 * time.Second)
	for refused() < total {
		if time.Now().After(deadline) {
			t.Fatalf("refused %v plaintext Raft connections, want %d", refused(), total)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := metric(t, o, "oneha_port_pending_connections"); n > 10 {
		t.Fatalf("%v connections still pending after the flood", n)
	}
}

// TestOwnPKIZone: with TLS: {CA, CERT, KEY} the servers use the operator's
// certificates (no zone CA is created), form the zone by the seed procedure
// and replicate; each presents its operator certificate.
func TestOwnPKIZone(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	pki := t.TempDir()
	ca, _, err := zoneca.EnsureCA(filepath.Join(pki, "ca.crt"), filepath.Join(pki, "ca.key"), true)
	if err != nil {
		t.Fatal(err)
	}
	serials := map[int]string{}
	for _, o := range z.Servers {
		cert, err := ca.Issue(zoneca.Identity{ZoneID: 0, ServerID: o.ID}, []string{"127.0.0.1"}, time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		keyDER, _ := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
		crt, key := filepath.Join(o.Dir, "tls.crt"), filepath.Join(o.Dir, "tls.key")
		os.WriteFile(crt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644)
		os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
		o.Extra = fmt.Sprintf("TLS: {CA: %s, CERT: %s, KEY: %s}\n", filepath.Join(pki, "ca.crt"), crt, key)
		serials[o.ID] = cert.Leaf.SerialNumber.String()
	}
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	seedRows(t, leader, 2)
	peer, err := zoneca.NewAutoCreds(ca, zoneca.Identity{ZoneID: 0, ServerID: 0}, func() []string { return []string{"127.0.0.1"} }, time.Hour, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range z.Servers {
		waitCount(t, o, 2, 20*time.Second, "replicated with the operator's certificates")
		if got := presentedLeaf(t, o, peer).SerialNumber.String(); got != serials[o.ID] {
			t.Errorf("server %d presents serial %s, want its operator certificate %s", o.ID, got, serials[o.ID])
		}
	}
	if _, err := os.Stat(filepath.Join(z.Dir, "zone-ca.key")); err == nil {
		t.Error("a zone CA was created although TLS.CERT is set")
	}
}
