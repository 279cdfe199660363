package xmlrpc

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"time"
)

const xmlHeader = `<?xml version="1.0"?>`

// EncodeCall writes a <methodCall> of method with params to w. Nothing is
// written if a parameter cannot be encoded.
func EncodeCall(w io.Writer, method string, params ...any) error {
	if method == "" {
		return fmt.Errorf("%w: empty method name", ErrUnsupportedType)
	}
	var b bytes.Buffer
	b.WriteString(xmlHeader + "<methodCall><methodName>")
	escape(&b, method)
	b.WriteString("</methodName><params>")
	for i, p := range params {
		b.WriteString("<param>")
		if err := encodeValue(&b, p, 1); err != nil {
			return fmt.Errorf("xmlrpc: encode %s param[%d]: %w", method, i, err)
		}
		b.WriteString("</param>")
	}
	b.WriteString("</params></methodCall>")
	return write(w, b.Bytes())
}

// EncodeResponse writes a <methodResponse> with exactly one <param>, v, to
// w. Nothing is written if v cannot be encoded.
func EncodeResponse(w io.Writer, v any) error {
	var b bytes.Buffer
	b.WriteString(xmlHeader + "<methodResponse><params><param>")
	if err := encodeValue(&b, v, 1); err != nil {
		return fmt.Errorf("xmlrpc: encode response: %w", err)
	}
	b.WriteString("</param></params></methodResponse>")
	return write(w, b.Bytes())
}

// EncodeFault writes a <methodResponse> holding a <fault> to w.
func EncodeFault(w io.Writer, code int, msg string) error {
	var b bytes.Buffer
	b.WriteString(xmlHeader + "<methodResponse><fault>")
	fault := map[string]any{"faultCode": int64(code), "faultString": msg}
	if err := encodeValue(&b, fault, 1); err != nil {
		return fmt.Errorf("xmlrpc: encode fault: %w", err)
	}
	b.WriteString("</fault></methodResponse>")
	return write(w, b.Bytes())
}

func write(w io.Writer, p []byte) error {
	if _, err := w.Write(p); err != nil {
		return fmt.Errorf("xmlrpc: write: %w", err)
	}
	return nil
}

// encodeValue appends <value>…</value> for v; depth is v's nesting level.
func encodeValue(b *bytes.Buffer, v any, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("%w: more than %d levels", ErrTooDeep, MaxDepth)
	}
	b.WriteString("<value>")
	if err := encodeInner(b, v, depth); err != nil {
		return err
	}
	b.WriteString("</value>")
	return nil
}

// encodeInner appends the typed element for v. Common types take the fast
// path; the rest go through reflection.
func encodeInner(b *bytes.Buffer, v any, depth int) error {
	switch x := v.(type) {
	case nil:
		return ErrNil
	case string:
		b.WriteString("<string>")
		escape(b, x)
		b.WriteString("</string>")
	case bool:
		if x {
			b.WriteString("<boolean>1</boolean>")
		} else {
			b.WriteString("<boolean>0</boolean>")
		}
	case int64:
		encodeInt(b, x)
	case int:
		encodeInt(b, int64(x))
	case int32:
		encodeInt(b, int64(x))
	case float64:
		return encodeFloat(b, x, 64)
	case []byte:
		b.WriteString("<base64>")
		b.WriteString(base64.StdEncoding.EncodeToString(x))
		b.WriteString("</base64>")
	case time.Time:
		s, err := formatDateTime(x)
		if err != nil {
			return err
		}
		b.WriteString("<dateTime.iso8601>" + s + "</dateTime.iso8601>")
	case []any:
		b.WriteString("<array><data>")
		for i, e := range x {
			if err := encodeValue(b, e, depth+1); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		b.WriteString("</data></array>")
	case map[string]any:
		b.WriteString("<struct>")
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if err := encodeMember(b, k, x[k], depth); err != nil {
				return err
			}
		}
		b.WriteString("</struct>")
	case *Fault, Fault:
		return fmt.Errorf("%w: a fault is not a value (use EncodeFault)", ErrUnsupportedType)
	default:
		return encodeReflect(b, reflect.ValueOf(v), depth)
	}
	return nil
}

func encodeMember(b *bytes.Buffer, name string, v any, depth int) error {
	b.WriteString("<member><name>")
	escape(b, name)
	b.WriteString("</name>")
	if err := encodeValue(b, v, depth+1); err != nil {
		return fmt.Errorf("[%q]: %w", clip(name), err)
	}
	b.WriteString("</member>")
	return nil
}

func encodeReflect(b *bytes.Buffer, rv reflect.Value, depth int) error {
	switch rv.Kind() {
	case reflect.Bool:
		return encodeInner(b, rv.Bool(), depth)
	case reflect.String:
		return encodeInner(b, rv.String(), depth)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		encodeInt(b, rv.Int())
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return fmt.Errorf("%w: %d overflows int64", ErrUnsupportedType, u)
		}
		encodeInt(b, int64(u))
		return nil
	case reflect.Float32:
		return encodeFloat(b, rv.Float(), 32)
	case reflect.Float64:
		return encodeFloat(b, rv.Float(), 64)
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return ErrNil
		}
		if depth > MaxDepth { // a pointer cycle
			return fmt.Errorf("%w: more than %d levels", ErrTooDeep, MaxDepth)
		}
		return encodeInner(b, rv.Elem().Interface(), depth+1)
	case reflect.Slice, reflect.Array:
		if rv.Kind() == reflect.Slice && rv.Type().Elem().Kind() == reflect.Uint8 {
			return encodeInner(b, rv.Bytes(), depth)
		}
		b.WriteString("<array><data>")
		for i := range rv.Len() {
			if err := encodeValue(b, rv.Index(i).Interface(), depth+1); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		b.WriteString("</data></array>")
		return nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("%w: map key type %s (want string)", ErrUnsupportedType, rv.Type().Key())
		}
		keys := rv.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int {
			switch sa, sb := a.String(), b.String(); {
			case sa < sb:
				return -1
			case sa > sb:
				return 1
			}
			return 0
		})
		b.WriteString("<struct>")
		for _, k := range keys {
			if err := encodeMember(b, k.String(), rv.MapIndex(k).Interface(), depth); err != nil {
				return err
			}
		}
		b.WriteString("</struct>")
		return nil
	}
	return fmt.Errorf("%w: Go type %s", ErrUnsupportedType, rv.Type())
}

func encodeInt(b *bytes.Buffer, n int64) {
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		b.WriteString("<i4>")
		b.WriteString(strconv.FormatInt(n, 10))
		b.WriteString("</i4>")
		return
	}
	b.WriteString("<i8>")
	b.WriteString(strconv.FormatInt(n, 10))
	b.WriteString("</i8>")
}

// encodeFloat writes f in plain decimal notation (XML-RPC has no exponent
// form), with the fewest digits that read back exactly.
func encodeFloat(b *bytes.Buffer, f float64, bits int) error {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return fmt.Errorf("%w: non-finite double %v", ErrUnsupportedType, f)
	}
	b.WriteString("<double>")
	b.WriteString(strconv.FormatFloat(f, 'f', -1, bits))
	b.WriteString("</double>")
	return nil
}

// escape writes s as XML character data. Characters XML cannot carry
// (most C0 controls, invalid UTF-8) become U+FFFD.
func escape(b *bytes.Buffer, s string) {
	_ = xml.EscapeText(b, []byte(s)) // writes to a bytes.Buffer never fail
}
