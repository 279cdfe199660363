package harness

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// FreePort returns a loopback TCP port that is free now and lies below the
// kernel's ephemeral range, so no outgoing connection can take it as its
// source port while a crashed server waits to be restarted on it.
func FreePort() (int, error) {
	lo := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				lo = n
			}
		}
	}
	const base = 10000
	if lo <= base+1000 {
		return 0, errors.New("harness: ephemeral port range starts too low for fixed test ports")
	}
	for i := 0; i < 200; i++ {
		p := base + rand.IntN(lo-base)
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			continue
		}
		l.Close()
		return p, nil
	}
	return 0, errors.New("harness: no free port below the ephemeral range")
}
