package xmlrpc

import (
	"errors"
	"fmt"
	"strings"
)

// OpenNebula error codes, the third element of a failure response.
const (
	AuthenticationError = 0x100
	AuthorizationError  = 0x200
	NoExistsError       = 0x400
	ActionError         = 0x800
	XMLRPCAPIError      = 0x1000
	InternalError       = 0x2000
	AllocateError       = 0x4000
	LockedError         = 0x8000
	ReplicationError    = 0x10000

	// OutcomeUnknownError is OneHA's own code: a write was logged (or may
	// have been) but no answer came (leadership lost after appending, the
	// leader unreachable after the request was sent, a timeout): it may or
	// may not be applied. Retry it only with the same request id
	// (one.sql.exec), or read to find out. Its message begins with
	// OutcomeUnknownPrefix (after "[method] ").
	OutcomeUnknownError = 0x20000
)

// Message prefixes (after "[method] ") that classify a failure for retries.
const (
	// NotAppliedPrefix: nothing was logged (no leader, the leader could not
	// be reached, refused before appending): retrying cannot apply twice.
	// Such failures keep OpenNebula's code, InternalError.
	NotAppliedPrefix = "NOT APPLIED: "
	// OutcomeUnknownPrefix starts every OutcomeUnknownError message.
	OutcomeUnknownPrefix = "OUTCOME UNKNOWN: "
)

// RetrySafe reports whether err is a failure response saying the request
// was not applied (NotAppliedPrefix), so that sending it again is safe.
func RetrySafe(err error) bool {
	e, ok := errors.AsType[*Error](err)
	if !ok || e.Code != InternalError {
		return false
	}
	_, msg, found := strings.Cut(e.Message, "] ") // after "[method] "
	return found && strings.HasPrefix(msg, NotAppliedPrefix)
}

// OutcomeUnknown reports whether err is an OutcomeUnknownError response.
func OutcomeUnknown(err error) bool {
	e, ok := errors.AsType[*Error](err)
	return ok && e.Code == OutcomeUnknownError
}

// CodeName returns the name OpenNebula gives an error code
// ("AUTHENTICATION", …), or the code in hex if it has none.
func CodeName(code int) string {
	switch code {
	case 0:
		return "SUCCESS"
	case AuthenticationError:
		return "AUTHENTICATION"
	case AuthorizationError:
		return "AUTHORIZATION"
	case NoExistsError:
		return "NO_EXISTS"
	case ActionError:
		return "ACTION"
	case XMLRPCAPIError:
		return "XML_RPC_API"
	case InternalError:
		return "INTERNAL"
	case AllocateError:
		return "ALLOCATE"
	case LockedError:
		return "LOCKED"
	case ReplicationError:
		return "REPLICATION"
	case OutcomeUnknownError:
		return "OUTCOME_UNKNOWN"
	}
	return fmt.Sprintf("%#x", code)
}

// Success is OpenNebula's success response: [true, v, 0].
func Success(v any) []any {
	return []any{true, v, int64(0)}
}

// Failure is OpenNebula's failure response: [false, "[method] msg", code].
// The optional resp_id and replication index elements are omitted.
func Failure(method, msg string, code int) []any {
	return []any{false, "[" + method + "] " + msg, int64(code)}
}

// Error is an OpenNebula failure response unpacked by Result.
type Error struct {
	Code    int
	Message string // "[method] message", as sent
}

// Error implements error, in goca's format.
func (e *Error) Error() string {
	return fmt.Sprintf("OpenNebula error [%s]: %s", CodeName(e.Code), e.Message)
}

// Is makes every *Error match ErrONE.
func (e *Error) Is(target error) bool { return target == ErrONE }

// Result unpacks a decoded OpenNebula response [ok, value, code, …]
// as goca does: on success it returns value; on failure an *Error with the
// message and code. Anything else is an error wrapping ErrMalformed.
func Result(v any) (any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: OpenNebula response is %s, want array", ErrMalformed, typeName(v))
	}
	if len(a) < 2 {
		return nil, fmt.Errorf("%w: OpenNebula response has %d elements, want at least 2", ErrMalformed, len(a))
	}
	success, ok := a[0].(bool)
	if !ok {
		return nil, fmt.Errorf("%w: OpenNebula response starts with %s, want boolean", ErrMalformed, typeName(a[0]))
	}
	var code int64
	if len(a) >= 3 {
		if code, ok = a[2].(int64); !ok {
			return nil, fmt.Errorf("%w: OpenNebula error code is %s, want int", ErrMalformed, typeName(a[2]))
		}
	}
	if success {
		return a[1], nil
	}
	msg, ok := a[1].(string)
	if !ok {
		return nil, fmt.Errorf("%w: OpenNebula error message is %s, want string", ErrMalformed, typeName(a[1]))
	}
	return nil, &Error{Code: int(code), Message: msg}
}

// ParamString returns params[i] as a string.
func ParamString(params []any, i int) (string, error) {
	return param[string](params, i, "string")
}

// ParamInt returns params[i] as an integer.
func ParamInt(params []any, i int) (int64, error) {
	return param[int64](params, i, "int")
}

// ParamArray returns params[i] as an array.
func ParamArray(params []any, i int) ([]any, error) {
	return param[[]any](params, i, "array")
}

// ParamStruct returns params[i] as a struct.
func ParamStruct(params []any, i int) (map[string]any, error) {
	return param[map[string]any](params, i, "struct")
}

// ParamBool returns params[i] as a boolean, or def if the call has fewer
// parameters (OpenNebula's optional flags). It accepts booleans and the
// integers 0 and 1, which some clients send instead.
func ParamBool(params []any, i int, def bool) (bool, error) {
	if i < 0 {
		return false, fmt.Errorf("%w: param[%d]: negative index", ErrParam, i)
	}
	if i >= len(params) {
		return def, nil
	}
	switch v := params[i].(type) {
	case bool:
		return v, nil
	case int64:
		if v == 0 || v == 1 {
			return v == 1, nil
		}
	}
	return false, fmt.Errorf("%w: param[%d]: want boolean, got %s", ErrParam, i, describe(params[i]))
}

func param[T any](params []any, i int, want string) (T, error) {
	var zero T
	if i < 0 || i >= len(params) {
		return zero, fmt.Errorf("%w: param[%d]: missing %s (call has %d parameters)", ErrParam, i, want, len(params))
	}
	v, ok := params[i].(T)
	if !ok {
		return zero, fmt.Errorf("%w: param[%d]: want %s, got %s", ErrParam, i, want, describe(params[i]))
	}
	return v, nil
}

// describe names a parameter's type, with its value when short.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string %q", clip(x))
	case int64, bool, float64:
		return fmt.Sprintf("%s %v", typeName(v), x)
	}
	return typeName(v)
}
