package xmlrpc

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

const (
	// DefaultMaxBody is the body limit used when a limit ≤ 0 is given.
	DefaultMaxBody = 4 << 20
	// MaxDepth is how deeply arrays and structs may nest; a top-level
	// parameter is at depth 1.
	MaxDepth = 64
)

// Element names of the XML-RPC value types.
const (
	tagI4       = "i4"
	tagInt      = "int"
	tagI8       = "i8"
	tagBoolean  = "boolean"
	tagString   = "string"
	tagDouble   = "double"
	tagBase64   = "base64"
	tagDateTime = "dateTime.iso8601"
	tagArray    = "array"
	tagStruct   = "struct"
	tagNil      = "nil"
)

// dateTimeLayout is the form every XML-RPC client accepts (Python's
// xmlrpc.client parses nothing else).
const dateTimeLayout = "20060102T15:04:05"

// dateTimeLayouts are the forms accepted on decode; a value without a zone
// is taken as UTC.
var dateTimeLayouts = [...]string{
	dateTimeLayout,
	"2006-01-02T15:04:05",
	time.RFC3339,
	"20060102T15:04:05Z07:00",
	"20060102T150405",
}

// parseInt parses the text of an integer element; bits is 32 or 64.
func parseInt(text string, bits int) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(text), 10, bits)
	if err != nil {
		return 0, fmt.Errorf("invalid %d-bit integer %q", bits, clip(text))
	}
	return n, nil
}

// parseBool parses the text of a <boolean> element.
func parseBool(text string) (bool, error) {
	switch t := strings.TrimSpace(text); {
	case t == "1" || strings.EqualFold(t, "true"):
		return true, nil
	case t == "0" || strings.EqualFold(t, "false"):
		return false, nil
	}
	return false, fmt.Errorf("invalid boolean %q (want 0, 1, true or false)", clip(text))
}

// parseDouble parses the text of a <double> element; only finite values
// are accepted, as only those can be encoded again.
func parseDouble(text string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(text), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("invalid or non-finite double %q", clip(text))
	}
	return f, nil
}

// parseDateTime parses the text of a <dateTime.iso8601> element into a UTC
// time with whole seconds, the precision encoding keeps.
func parseDateTime(text string) (time.Time, error) {
	t := strings.TrimSpace(text)
	for _, layout := range dateTimeLayouts {
		v, err := time.Parse(layout, t)
		if err != nil {
			continue
		}
		v = v.UTC().Truncate(time.Second)
		if y := v.Year(); y < 0 || y > 9999 {
			break
		}
		return v, nil
	}
	return time.Time{}, fmt.Errorf("invalid dateTime.iso8601 %q", clip(text))
}

// formatDateTime formats t in the compact form, in UTC, whole seconds.
func formatDateTime(t time.Time) (string, error) {
	u := t.UTC()
	if y := u.Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("%w: time %v outside years 0-9999", ErrUnsupportedType, t)
	}
	return u.Format(dateTimeLayout), nil
}

// clip shortens text quoted in error messages.
func clip(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// typeName names the XML-RPC type of a decoded value, for messages.
func typeName(v any) string {
	switch v.(type) {
	case int64:
		return "int"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		return "double"
	case []byte:
		return "base64"
	case []any:
		return "array"
	case map[string]any:
		return "struct"
	case nil:
		return "nothing"
	}
	if _, ok := v.(time.Time); ok {
		return "dateTime.iso8601"
	}
	return fmt.Sprintf("%T", v)
}
