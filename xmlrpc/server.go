package xmlrpc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/oneha/oneha/internal/stagetime"
)

// HandlerFunc answers one method. params are the decoded call parameters.
// It returns the response value, or an error: a *Fault (possibly wrapped)
// is sent as is, any other error as a fault with code FaultApplication and
// the error's text.
type HandlerFunc func(ctx context.Context, params []any) (any, error)

// Server is an http.Handler that decodes XML-RPC calls, dispatches them to
// registered handlers and encodes the answers. Every failure is answered
// with a fault and HTTP status 200, except a method other than POST (405).
// Routing by path is left to the caller's mux.
type Server struct {
	// MaxBody limits request bodies (DefaultMaxBody if ≤ 0).
	MaxBody int64
	// Logger receives panics, undecodable requests and unencodable results.
	Logger *slog.Logger
	// Budget bounds the body bytes read and decoded at once over all
	// requests (nil: no bound), per source address, with a reserve for
	// requests with a verified TLS client certificate; a request that
	// cannot get room in time is answered 503. NewServer sets
	// NewBudget(DefaultInFlight, DefaultBudgetWait).
	Budget *Budget
	// Stages, if set, receives every answered call's stage times
	// (stagetime: http_read, xml_decode, response_encode, and whatever
	// the handler added to the *Trace it finds in its context). It runs
	// on the request's goroutine after the response is written; it must
	// not keep t. Nil: no trace is made (no clock reads, no allocation).
	Stages func(method string, t *stagetime.Trace)

	mu       sync.RWMutex
	handlers map[string]HandlerFunc
}

// NewServer returns a Server with no methods, logging to logger (nowhere if
// nil).
func NewServer(logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{MaxBody: DefaultMaxBody, Logger: logger, Budget: NewBudget(DefaultInFlight, DefaultBudgetWait),
		handlers: map[string]HandlerFunc{}}
}

// Register makes h answer method. It may be called while serving. It
// panics on an empty name, a nil handler or a name already registered,
// which are programming errors.
func (s *Server) Register(method string, h HandlerFunc) {
	if method == "" || h == nil {
		panic("xmlrpc: Register needs a method name and a handler")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handlers == nil {
		s.handlers = map[string]HandlerFunc{}
	}
	if _, dup := s.handlers[method]; dup {
		panic("xmlrpc: method " + method + " registered twice")
	}
	s.handlers[method] = h
}

// Methods returns the registered method names, sorted.
func (s *Server) Methods() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.handlers))
	for name := range s.handlers {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "XML-RPC needs POST", http.StatusMethodNotAllowed)
		return
	}
	log := &reqLog{l: s.logger(), remote: r.RemoteAddr}
	var tr *stagetime.Trace
	if s.Stages != nil {
		tr = new(stagetime.Trace)
	}
	method, params, err := s.decode(r, tr)
	if errors.Is(err, ErrBusy) {
		log.Debug("xmlrpc: request refused", "err", err)
		w.Header().Set("Connection", "close")
		w.Header().Set("Retry-After", "1")
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	if err != nil {
		log.Debug("xmlrpc: bad request", "err", err) // Debug: unauthenticated clients must not fill the disk
		if errors.Is(err, ErrTooLarge) {
			// The rest of the body is left unread; don't reuse the connection.
			w.Header().Set("Connection", "close")
		}
		s.writeFault(w, log, &Fault{Code: FaultParse, String: err.Error()})
		return
	}
	h := s.handler(method)
	if h == nil {
		log.Debug("xmlrpc: unknown method", "method", Quote(method))
		s.writeFault(w, log, &Fault{Code: FaultMethodNotFound, String: "[" + Clip(method) + "] not implemented"})
		return
	}
	log.method = method // a registered name: no client text
	ctx := r.Context()
	if tr != nil {
		ctx = stagetime.NewContext(ctx, tr)
	}
	v, err := s.call(ctx, log, method, h, params)
	if err != nil {
		s.writeFault(w, log, faultFor(err))
		return
	}
	start := tr.Now()
	var b bytes.Buffer
	if err := EncodeResponse(&b, v); err != nil {
		log.Error("xmlrpc: cannot encode result", "err", err)
		s.writeFault(w, log, &Fault{Code: FaultInternal, String: fmt.Sprintf("[%s] cannot encode result: %v", method, err)})
		return
	}
	writeXML(w, log, b.Bytes())
	if tr != nil {
		tr.Since(stagetime.ResponseEncode, start)
		s.Stages(method, tr)
	}
}

// decode reads the call from r's body, charging the bytes to s.Budget.
// With a trace, the time inside the body's Read calls is http_read and the
// rest of decoding xml_decode (the decoder reads the whole body first,
// then parses it).
func (s *Server) decode(r *http.Request, tr *stagetime.Trace) (string, []any, error) {
	var body io.Reader = r.Body
	if s.Budget != nil {
		br := s.Budget.reader(r)
		defer br.release()
		body = br
	}
	if tr == nil {
		return DecodeCall(body, s.MaxBody)
	}
	start := time.Now()
	method, params, err := DecodeCall(&timedReader{r: body, tr: tr}, s.MaxBody)
	read, _ := tr.Get(stagetime.HTTPRead)
	tr.Add(stagetime.XMLDecode, time.Since(start)-read)
	return method, params, err
}

// timedReader adds the time spent in r's Read calls to http_read.
type timedReader struct {
	r  io.Reader
	tr *stagetime.Trace
}

func (t *timedReader) Read(p []byte) (int, error) {
	start := time.Now()
	n, err := t.r.Read(p)
	t.tr.Since(stagetime.HTTPRead, start)
	return n, err
}

// call runs h, turning a panic into a FaultInternal fault.
func (s *Server) call(ctx context.Context, log *reqLog, method string, h HandlerFunc, params []any) (v any, err error) {
	defer func() {
		if p := recover(); p != nil {
			log.Error("xmlrpc: handler panicked", "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			v, err = nil, &Fault{Code: FaultInternal, String: "[" + method + "] internal error"}
		}
	}()
	return h(ctx, params)
}

func (s *Server) handler(method string) HandlerFunc {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.handlers[method]
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// reqLog logs for one request with its remote address and, once known,
// its method. It adds them only to a line that is written: slog's With
// formats them for every request, which took 3% of a busy leader's CPU
// (BenchmarkServeSmallCall).
type reqLog struct {
	l      *slog.Logger
	remote string
	method string
}

func (r *reqLog) log(level slog.Level, msg string, args []any) {
	ctx := context.Background()
	if !r.l.Enabled(ctx, level) {
		return
	}
	a := make([]any, 0, 4+len(args))
	a = append(a, "remote", r.remote)
	if r.method != "" {
		a = append(a, "method", r.method)
	}
	r.l.Log(ctx, level, msg, append(a, args...)...)
}

// Debug logs msg at debug level.
func (r *reqLog) Debug(msg string, args ...any) { r.log(slog.LevelDebug, msg, args) }

// Error logs msg at error level.
func (r *reqLog) Error(msg string, args ...any) { r.log(slog.LevelError, msg, args) }

func (s *Server) writeFault(w http.ResponseWriter, log *reqLog, f *Fault) {
	var b bytes.Buffer
	if err := EncodeFault(&b, f.Code, f.String); err != nil {
		// Cannot happen: a fault holds an int and a string.
		log.Error("xmlrpc: cannot encode fault", "err", err)
		http.Error(w, "cannot encode fault", http.StatusInternalServerError)
		return
	}
	writeXML(w, log, b.Bytes())
}

func writeXML(w http.ResponseWriter, log *reqLog, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(body); err != nil {
		log.Debug("xmlrpc: write response", "err", err)
	}
}
