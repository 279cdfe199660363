package xmlrpc

import (
	"errors"
	"fmt"
)

// Fault codes this package's Server uses, from the XML-RPC
// interoperability specification (specs.xmlrpc.com/spec/fault_codes).
const (
	FaultParse          = -32700 // not well formed, too large or too deep
	FaultInvalidRequest = -32600 // not a POST, or not a method call
	FaultMethodNotFound = -32601
	FaultInvalidParams  = -32602
	FaultInternal       = -32603 // a handler panicked or its result cannot be encoded
	FaultApplication    = -32500 // a handler returned an error that is not a *Fault
)

// Fault is an XML-RPC fault: a response that carries an error instead of a
// value. Handlers return it to choose the fault code; Client.Call returns it
// when the server answers with a fault.
type Fault struct {
	Code   int
	String string
}

// Error implements error.
func (f *Fault) Error() string {
	return fmt.Sprintf("xmlrpc fault %d: %s", f.Code, f.String)
}

// faultFor turns a handler error into the fault sent to the client.
func faultFor(err error) *Fault {
	if f, ok := errors.AsType[*Fault](err); ok {
		return f
	}
	return &Fault{Code: FaultApplication, String: err.Error()}
}
