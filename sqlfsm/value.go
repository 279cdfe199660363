package sqlfsm

import (
	"fmt"
	"math"
	"time"
)

// Statement is one SQL statement with positional ('?') parameters.
//
// Params hold only the types Normalize accepts: nil, bool, int64, float64,
// string, []byte and time.Time.
type Statement struct {
	SQL    string
	Params []any
}

// Normalize converts a Go parameter value to one of the types the entry codec
// carries (nil, bool, int64, float64, string, []byte, time.Time). It returns
// ErrBadParam for anything else, naming the type.
func Normalize(v any) (any, error) {
	switch x := v.(type) {
	case nil, bool, int64, string, []byte:
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%w: %v has no SQL literal", ErrBadParam, x)
		}
		return x, nil
	case int:
		return int64(x), nil
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint:
		if uint64(x) > 1<<63-1 {
			return nil, fmt.Errorf("%w: unsigned value %d overflows int64", ErrBadParam, x)
		}
		return int64(x), nil
	case uint64:
		if x > 1<<63-1 {
			return nil, fmt.Errorf("%w: unsigned value %d overflows int64", ErrBadParam, x)
		}
		return int64(x), nil
	case float32:
		return Normalize(float64(x))
	case time.Time:
		return x.UTC().Truncate(time.Microsecond), nil
	default:
		return nil, fmt.Errorf("%w: unsupported parameter type %T", ErrBadParam, v)
	}
}
