package harness

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// FreePort returns a loopback TCP port that is free now and lies below the
// kernel's ephemeral range, so no outgoing connection can take it as its
// source port while a crashed server waits to be restarted on it.
//
// The port is also reserved for the life of this process against every
// other test process on the machine that uses FreePort (go test runs
// packages in parallel): a port only found free could be found free by
// another process too, before either server binds it (a zone's ports are
// chosen seconds before its servers start). The reservation is a lock on
// a file named after the port (reservePort), which the kernel drops when
// the process ends, however it ends.
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
		fd, ok := reservePort(p)
		if !ok {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			syscall.Close(fd) // in use by something else: not ours to keep
			continue
		}
		l.Close()
		return p, nil
	}
	return 0, errors.New("harness: no free port below the ephemeral range")
}

// reservePort takes an exclusive lock on $TMPDIR/oneha-test-ports/<p> and
// returns its descriptor, which FreePort keeps open until this process
// ends: a raw one (close-on-exec, no *os.File whose finalizer would close
// it). ok is false when another process holds the lock, or when it cannot
// be taken (the port is then skipped, which costs nothing). The name is
// opened without following a symlink: the directory is world-writable.
func reservePort(p int) (fd int, ok bool) {
	dir := filepath.Join(os.TempDir(), "oneha-test-ports")
	if err := os.MkdirAll(dir, 0o1777); err != nil {
		return -1, false
	}
	fd, err := syscall.Open(filepath.Join(dir, strconv.Itoa(p)), syscall.O_RDWR|syscall.O_CREAT|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0o666)
	if err != nil {
		return -1, false
	}
	if err := syscall.Flock(fd, syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		syscall.Close(fd)
		return -1, false
	}
	return fd, true
}
