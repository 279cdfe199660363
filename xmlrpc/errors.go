package xmlrpc

import "errors"

// Sentinel errors. Errors returned by this package wrap one of these, so
// callers test them with errors.Is.
var (
	// ErrMalformed marks input that is not a well-formed XML-RPC message.
	ErrMalformed = errors.New("xmlrpc: malformed message")
	// ErrTooLarge marks input longer than the allowed body size.
	ErrTooLarge = errors.New("xmlrpc: message too large")
	// ErrTooDeep marks values nested deeper than MaxDepth.
	ErrTooDeep = errors.New("xmlrpc: value nested too deeply")
	// ErrNil marks a nil value: XML-RPC as spoken by OpenNebula's clients
	// has no nil.
	ErrNil = errors.New("xmlrpc: nil value")
	// ErrUnsupportedType marks a Go value that has no XML-RPC form
	// (channels, structs, NaN, uint64 above MaxInt64, years beyond 9999…).
	ErrUnsupportedType = errors.New("xmlrpc: unsupported value")
	// ErrParam marks a call parameter that is missing or has the wrong type.
	ErrParam = errors.New("xmlrpc: invalid parameter")
	// ErrHTTP marks a response whose HTTP status is not 200 OK.
	ErrHTTP = errors.New("xmlrpc: unexpected HTTP status")
	// ErrONE marks an OpenNebula failure response ([false, msg, code]);
	// *Error matches it.
	ErrONE = errors.New("xmlrpc: OpenNebula error")
)
