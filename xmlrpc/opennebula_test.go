package xmlrpc

import (
	"errors"
	"strings"
	"testing"
)

func TestSuccessFailure(t *testing.T) {
	if got, want := Success(int64(5)), []any{true, int64(5), int64(0)}; !equal(got, want) {
		t.Fatalf("Success = %#v", got)
	}
	got := Failure("one.zone.info", "Error getting zone [1].", NoExistsError)
	if want := []any{false, "[one.zone.info] Error getting zone [1].", int64(0x400)}; !equal(got, want) {
		t.Fatalf("Failure = %#v", got)
	}
}

func TestResult(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want any
		code int    // an *Error with this code, if msg != ""
		msg  string // for *Error
		bad  bool   // ErrMalformed
	}{
		{"success string", Success("<ZONE/>"), "<ZONE/>", 0, "", false},
		{"success int", []any{true, int64(3), int64(0)}, int64(3), 0, "", false},
		{"success bool", []any{true, false, int64(0)}, false, 0, "", false},
		{"success two elements", []any{true, "x"}, "x", 0, "", false},
		{"failure", Failure("one.vm.info", "no", NoExistsError), nil, NoExistsError, "[one.vm.info] no", false},
		{"failure with resp_id and index", []any{false, "[m] e", int64(ReplicationError), int64(-1), int64(7)}, nil, ReplicationError, "[m] e", false},
		{"not an array", "x", nil, 0, "", true},
		{"too short", []any{true}, nil, 0, "", true},
		{"first not bool", []any{int64(1), "x", int64(0)}, nil, 0, "", true},
		{"code not int", []any{false, "x", "0x400"}, nil, 0, "", true},
		{"failure message not string", []any{false, int64(1), int64(0x400)}, nil, 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Result(tt.in)
			switch {
			case tt.bad:
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
			case tt.msg != "":
				e, ok := errors.AsType[*Error](err)
				if !ok || e.Code != tt.code || e.Message != tt.msg || !errors.Is(err, ErrONE) {
					t.Fatalf("err = %#v", err)
				}
			default:
				if err != nil || !equal(v, tt.want) {
					t.Fatalf("got %#v, %v", v, err)
				}
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Code: NoExistsError, Message: "[one.zone.info] Error getting zone [9]."}, "OpenNebula error [NO_EXISTS]: [one.zone.info] Error getting zone [9]."},
		{&Error{Code: InternalError, Message: "[one.sql.exec] Cannot process request, no leader found"}, "OpenNebula error [INTERNAL]: [one.sql.exec] Cannot process request, no leader found"},
		{&Error{Code: 0x3, Message: "m"}, "OpenNebula error [0x3]: m"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
}

func TestParams(t *testing.T) {
	params := []any{"one:pw", int64(7), true, int64(1), []any{"a"}, map[string]any{}, int64(2), "yes"}
	t.Run("valid", func(t *testing.T) {
		if s, err := ParamString(params, 0); err != nil || s != "one:pw" {
			t.Fatalf("ParamString = %q, %v", s, err)
		}
		if n, err := ParamInt(params, 1); err != nil || n != 7 {
			t.Fatalf("ParamInt = %d, %v", n, err)
		}
		if a, err := ParamArray(params, 4); err != nil || len(a) != 1 {
			t.Fatalf("ParamArray = %v, %v", a, err)
		}
		if m, err := ParamStruct(params, 5); err != nil || m == nil {
			t.Fatalf("ParamStruct = %v, %v", m, err)
		}
	})
	bools := []struct {
		name string
		i    int
		def  bool
		want bool
		err  bool
	}{
		{"bool", 2, false, true, false},
		{"int 1", 3, false, true, false},
		{"missing uses default true", 99, true, true, false},
		{"missing uses default false", 8, false, false, false},
		{"int 2", 6, false, false, true},
		{"string", 7, false, false, true},
		{"negative index", -1, true, false, true},
	}
	for _, tt := range bools {
		t.Run("ParamBool "+tt.name, func(t *testing.T) {
			got, err := ParamBool(params, tt.i, tt.def)
			if (err != nil) != tt.err || got != tt.want {
				t.Fatalf("got %v, %v", got, err)
			}
			if err != nil && !errors.Is(err, ErrParam) {
				t.Fatalf("err %v does not wrap ErrParam", err)
			}
		})
	}
	errs := []struct {
		name string
		f    func() error
		msg  string
	}{
		{"string wrong type", func() error { _, err := ParamString(params, 1); return err }, "param[1]: want string, got int 7"},
		{"int wrong type", func() error { _, err := ParamInt(params, 0); return err }, `param[0]: want int, got string "one:pw"`},
		{"int missing", func() error { _, err := ParamInt(params, 8); return err }, "param[8]: missing int (call has 8 parameters)"},
		{"array wrong type", func() error { _, err := ParamArray(params, 5); return err }, "want array, got struct"},
		{"struct wrong type", func() error { _, err := ParamStruct(params, 4); return err }, "want struct, got array"},
		{"negative", func() error { _, err := ParamString(params, -1); return err }, "param[-1]: missing"},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f()
			if !errors.Is(err, ErrParam) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("err = %v, want ErrParam with %q", err, tt.msg)
			}
		})
	}
}
