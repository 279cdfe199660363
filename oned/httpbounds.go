package oned

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"syscall"
	"time"
	"unicode/utf8"
)

// Bounds of the API's HTTP server. Every connection is cut when a client
// stops making progress, so idle or stalled connections cannot pile up.
const (
	// apiHeaderTimeout: the request line and headers must arrive within
	// this time (OpenNebula's TIMEOUT is 15 s).
	apiHeaderTimeout = 10 * time.Second
	// apiReadTimeout: the whole request, headers and body (at most
	// xmlrpc.DefaultMaxBody, 4 MiB), must arrive within this time: a
	// 4 MiB body needs about 1 Mbit/s; a client sending 10 bytes and
	// stalling is cut after it.
	apiReadTimeout = 30 * time.Second
	// apiWriteTimeout bounds handling plus writing the answer, counted from
	// the end of the request headers. It is generous because a query of a
	// large table on a loaded database, or a forwarded write waiting out an
	// election (XMLRPC_TIMEOUT_MS), takes long; it still frees the memory
	// of an answer that a client never reads.
	apiWriteTimeout = 5 * time.Minute
	// apiIdleTimeout closes a keep-alive connection with no request for
	// this long (OpenNebula's KEEPALIVE_TIMEOUT is 15 s).
	apiIdleTimeout = 15 * time.Second
	// apiMaxHeaderBytes bounds request headers; XML-RPC clients send a
	// few hundred bytes.
	apiMaxHeaderBytes = 64 << 10
)

// newHTTPServer is the API's http.Server with the bounds above.
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: apiHeaderTimeout,
		ReadTimeout:       apiReadTimeout,
		WriteTimeout:      apiWriteTimeout,
		IdleTimeout:       apiIdleTimeout,
		MaxHeaderBytes:    apiMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// WarnIfReadable logs at Warn when the file at path (named by key, e.g.
// ONE_AUTH), which holds secrets, is readable by everyone, or by a group
// other than the one oned runs as (make install gives oned.yaml mode 0640,
// group oneadmin, on purpose).
func WarnIfReadable(log *slog.Logger, key, path string) {
	fi, err := os.Stat(path)
	if err != nil {
		return
	}
	mode := fi.Mode().Perm()
	otherGroup := true
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Gid) == os.Getegid() {
		otherGroup = false
	}
	if mode&0o007 != 0 || (mode&0o070 != 0 && otherGroup) {
		log.Warn(fmt.Sprintf("%s holds secrets but is readable by others than its owner; chmod 600 it", key),
			"file", path, "mode", fmt.Sprintf("%#o", mode))
	}
}

// maxAnswer bounds an error answer's message. Messages quote client input
// (SQL tokens, names, templates) through xmlrpc.Quote where oned
// formats them; the bound also covers the database's and other packages'
// messages, so an answer never grows with the request.
const maxAnswer = 512

// boundAnswer cuts msg to maxAnswer bytes, noting its length when cut.
func boundAnswer(msg string) string {
	if len(msg) <= maxAnswer {
		return msg
	}
	cut := maxAnswer
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + fmt.Sprintf("…(%d bytes)", len(msg))
}
