package harness

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/hashicorp/raft"
)

// StartJoiner starts one more server in c that is in no Raft configuration:
// it neither bootstraps nor votes until a leader adds it (zone join tests).
// Its ID is its index in c.Servers; it is stopped with the cluster.
func (c *Cluster) StartJoiner(tb testing.TB) *Server {
	tb.Helper()
	i := len(c.Servers)
	s := &Server{ID: strconv.Itoa(i), Index: i, Dir: filepath.Join(filepath.Dir(c.Servers[0].Dir), "server-"+strconv.Itoa(i))}
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	c.prepareDB(s)
	if c.inmem != nil {
		s.Addr = "inmem-" + s.ID
		_, t := raft.NewInmemTransport(raft.ServerAddress(s.Addr))
		c.inmem = append(c.inmem, t)
		c.connectAll()
	} else {
		p, err := FreePort()
		if err != nil {
			tb.Fatal(err)
		}
		s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
	}
	c.Servers = append(c.Servers, s)
	c.start(s)
	return s
}

// Endpoint is s's OpenNebula ENDPOINT, "http://<Addr>/RPC2": with the TCP
// transport Raft and XML-RPC share that port, so zone.RaftAddress of it is
// s.Addr.
func (s *Server) Endpoint() string { return "http://" + s.Addr + "/RPC2" }
