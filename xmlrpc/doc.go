// Package xmlrpc is OneHA's hand-written XML-RPC codec, HTTP server and
// HTTP client, with OpenNebula's API conventions on top.
//
// Values map between Go and XML-RPC as follows (decoding always yields the
// left-hand types; encoding also accepts other integer widths, float32,
// pointers, and any slice or string-keyed map):
//
//	int64           <i4> when it fits 32 bits, else <i8> (decode: <i4>, <int>, <i8>)
//	bool            <boolean>0|1</boolean> (decode: 0, 1, true, false)
//	string          <string>, or text directly inside <value>
//	float64         <double> (finite values only)
//	[]byte          <base64>
//	time.Time       <dateTime.iso8601>20060102T15:04:05 (UTC, whole seconds)
//	[]any           <array><data>…</data></array>
//	map[string]any  <struct> with members in sorted name order
//
// <nil/> is never produced (encoding nil fails with ErrNil) and never
// accepted, because Ruby's xmlrpc gem and Python's xmlrpc.client reject it by
// default. Every response carries exactly one <param>, as the Ruby gem
// requires.
//
// Decoding is bounded: the decoder reads the whole body, at most the body
// limit plus one byte, then parses it with a strict hand-written parser that
// accepts the XML encoding/xml accepts with Strict set (and nothing more).
// A body beyond the limit fails with ErrTooLarge, nesting beyond MaxDepth
// with ErrTooDeep, and anything else that is not a well-formed message with
// an error wrapping ErrMalformed that says where. Decoders never panic and
// never read past the limit.
//
// Server dispatches calls to registered HandlerFuncs and turns every failure
// (bad request, unknown method, handler error or panic) into an XML-RPC
// fault with HTTP status 200. Client performs calls with a context.
//
// The OpenNebula layer (Success, Failure, Result, Error and the Param
// helpers) implements the [ok, value, code] response arrays that the Ruby
// CLI, Python bindings and goca expect.
package xmlrpc
