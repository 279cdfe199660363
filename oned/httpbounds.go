package oned

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oneha/oneha/xmlrpc"
)

// Bounds of the API's HTTP server. Every connection is cut when a client
// stops making progress, so idle or stalled connections cannot pile up.
const (
	// apiHeaderTimeout: the request line and headers must arrive within
	// this time (or TIMEOUT when shorter).
	apiHeaderTimeout = 10 * time.Second
	// apiWriteTimeout bounds handling plus writing the answer, counted from
	// the end of the request headers. It is generous because a query of a
	// large table on a loaded database, or a forwarded write waiting out an
	// election (XMLRPC_TIMEOUT_MS), takes long; it still frees the memory
	// of an answer that a client never reads.
	apiWriteTimeout = 5 * time.Minute
	// apiMaxHeaderBytes bounds request headers; XML-RPC clients send a
	// few hundred bytes.
	apiMaxHeaderBytes = 64 << 10
)

// newHTTPServer is the API's http.Server with the bounds above, TIMEOUT
// for reading a whole request (headers and a body of at most
// xmlrpc.DefaultMaxBody: 4 MiB in the default 15 s needs about 2 Mbit/s)
// and KEEPALIVE_TIMEOUT for idle connections.
func newHTTPServer(cfg Config, h http.Handler, log *slog.Logger) *http.Server {
	read := time.Duration(cfg.Timeout) * time.Second
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: min(apiHeaderTimeout, read),
		ReadTimeout:       read,
		WriteTimeout:      apiWriteTimeout,
		IdleTimeout:       time.Duration(cfg.KeepaliveTimeout) * time.Second,
		MaxHeaderBytes:    apiMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// maxAnswer bounds an error answer's message. Messages quote client input
// (SQL tokens, names, templates) through xmlrpc.Quote where oned formats
// them; the database's and other packages' messages may quote a token of
// the request whole ("no such table: x…"), so boundAnswer also cuts every
// word to xmlrpc.MaxEcho bytes: an answer never grows with the request.
const maxAnswer = 512

// boundAnswer cuts each run of non-space bytes in msg to xmlrpc.MaxEcho
// bytes and the whole to maxAnswer bytes, noting the cuts.
func boundAnswer(msg string) string {
	if len(msg) <= xmlrpc.MaxEcho {
		return msg
	}
	var b strings.Builder
	for i := 0; i < len(msg); {
		j := i
		for j < len(msg) && msg[j] != ' ' && msg[j] != '\n' {
			j++
		}
		b.WriteString(xmlrpc.Clip(msg[i:j]))
		if j < len(msg) {
			b.WriteByte(msg[j])
			j++
		}
		i = j
		if b.Len() > maxAnswer {
			break
		}
	}
	out := b.String()
	if len(out) <= maxAnswer {
		return out
	}
	cut := maxAnswer
	for cut > 0 && !utf8.RuneStart(out[cut]) {
		cut--
	}
	return out[:cut] + fmt.Sprintf("…(%d bytes)", len(msg))
}
