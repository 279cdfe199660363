package raftlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func newTestMux(t *testing.T, cfg MuxConfig) *Mux {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = testLogger()
	m := NewMux(ln, cfg)
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func TestMuxDispatch(t *testing.T) {
	m := newTestMux(t, MuxConfig{PeekTimeout: 100 * time.Millisecond})
	tests := []struct {
		name    string
		send    []byte
		want    string // "raft", "http" or "closed"
		wantGot string // bytes the child listener reads
	}{
		{"raft byte goes to raft, byte consumed", []byte{RaftByte, 'x', 'y'}, "raft", "xy"},
		{"HTTP POST goes to http, byte replayed", []byte("POST /RPC2"), "http", "POST /RPC2"},
		{"TLS ClientHello goes to http", []byte{0x16, 0x03, 0x01}, "http", "\x16\x03\x01"},
		{"silent conn closed after peek timeout", nil, "closed", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", m.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if len(tt.send) > 0 {
				if _, err := c.Write(tt.send); err != nil {
					t.Fatal(err)
				}
			}
			if tt.want == "closed" {
				_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
					t.Fatalf("silent conn read err = %v, want EOF (closed by mux)", err)
				}
				return
			}
			var ln net.Listener = m.HTTPListener()
			if tt.want == "raft" {
				ln = m.RaftLayer()
			}
			got, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer got.Close()
			buf := make([]byte, len(tt.wantGot))
			_ = got.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.ReadFull(got, buf); err != nil {
				t.Fatal(err)
			}
			if string(buf) != tt.wantGot {
				t.Fatalf("read %q, want %q", buf, tt.wantGot)
			}
		})
	}
}

func TestMuxIdleConnDoesNotBlockAccept(t *testing.T) {
	m := newTestMux(t, MuxConfig{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "ok")
	})}
	go func() { _ = srv.Serve(m.HTTPListener()) }()
	defer srv.Close()
	// Several idle connections that never send a byte.
	for k := 0; k < 5; k++ {
		c, err := net.Dial("tcp", m.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
	}
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get("http://" + m.Addr().String() + "/")
	if err != nil {
		t.Fatalf("http behind idle conns: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Fatalf("body %q", body)
	}
}

func TestMuxClose(t *testing.T) {
	m := newTestMux(t, MuxConfig{})
	tests := []struct {
		name string
		ln   net.Listener
	}{
		{"raft layer", m.RaftLayer()},
		{"http listener", m.HTTPListener()},
	}
	errs := make(chan error, len(tests))
	for _, tt := range tests {
		go func() { _, err := tt.ln.Accept(); errs <- err }()
	}
	time.Sleep(20 * time.Millisecond)
	if err := m.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	for range tests {
		select {
		case err := <-errs:
			if !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Accept after Close = %v, want net.ErrClosed", err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("Accept did not return after Close")
		}
	}
	if _, err := net.DialTimeout("tcp", m.Addr().String(), time.Second); err == nil {
		t.Fatal("listener still accepting after Close")
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

// TestMuxRaftAndHTTPOnOnePort runs a 3-node TCP cluster whose raft traffic
// and a real http.Server share each node's single port.
func TestMuxRaftAndHTTPOnOnePort(t *testing.T) {
	c := MakeCluster(t, clusterOpts{n: 3, tcp: true})
	for i, m := range c.muxes {
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "node %d %s", i, r.Method)
		})}
		go func() { _ = srv.Serve(m.HTTPListener()) }()
		t.Cleanup(func() { _ = srv.Close() })
	}
	li := c.WaitReadyLeader(5 * time.Second)
	mustApply(t, c.nodes[li], "over-tcp")
	c.WaitApplied(c.fsms[li].AppliedIndex(), 5*time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for i := range c.muxes {
		addr := string(c.addrs[i]) // the raft address is the HTTP address
		resp, err := client.Post("http://"+addr+"/RPC2", "text/xml", strings.NewReader("<methodCall/>"))
		if err != nil {
			t.Fatalf("http to node %d on raft port %s: %v", i, addr, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("node %d POST", i); string(body) != want {
			t.Fatalf("node %d body %q, want %q", i, body, want)
		}
		if got := c.fsms[i].Entries(); len(got) != 1 || got[0] != "over-tcp" {
			t.Fatalf("node %d entries %v", i, got)
		}
	}
	// Raft survives HTTP traffic and a leader change over TCP.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.nodes[li].LeadershipTransfer(ctx); err != nil {
		t.Fatalf("transfer over tcp: %v", err)
	}
	ni := c.WaitReadyLeader(5 * time.Second)
	mustApply(t, c.nodes[ni], "after-transfer")
}

func dialTCP(addr string) (net.Conn, error) { return net.DialTimeout("tcp", addr, time.Second) }
