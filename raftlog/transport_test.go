package raftlog

import (
	"errors"

	"context"
	"fmt"
	"github.com/hashicorp/raft"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

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

// TestTransportReplicatesWithoutPipelining: the transport refuses
// pipelined replication (see NewTransport: hashicorp/raft's netPipeline can
// deadlock a follower's replication and Raft.Shutdown), so raft falls back
// to one AppendEntries at a time.
func TestTransportReplicatesWithoutPipelining(t *testing.T) {
	c := MakeCluster(t, clusterOpts{n: 1, tcp: true})
	tr := NewTransport(c.muxes[0].RaftLayer(), Config{ID: "x"})
	defer tr.Close()
	if _, err := tr.AppendEntriesPipeline("1", raft.ServerAddress(c.addrs[0])); !errors.Is(err, raft.ErrPipelineReplicationNotSupported) {
		t.Fatalf("AppendEntriesPipeline: %v, want ErrPipelineReplicationNotSupported", err)
	}
}
