package backup

import (
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/oneha/oneha/sqlcheck"
)

// quoteIdent quotes a MySQL name with backticks.
func quoteIdent(d sqlcheck.Dialect, name string) string {
	if d == sqlcheck.MySQL {
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

// appendMySQLString appends b as a MySQL string literal with mysqldump's
// backslash escapes (valid unless sql_mode has NO_BACKSLASH_ESCAPES, which
// the dump's SET SQL_MODE clears).
func appendMySQLString(dst, b []byte) []byte {
	dst = append(dst, '\'')
	for _, c := range b {
		switch c {
		case 0:
			dst = append(dst, '\\', '0')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\'':
			dst = append(dst, '\\', '\'')
		case '"':
			dst = append(dst, '\\', '"')
		case 0x1a:
			dst = append(dst, '\\', 'Z')
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '\'')
}

// appendMySQLHex appends b as a hex literal 0x…; empty as an empty string literal.
func appendMySQLHex(dst, b []byte) []byte {
	if len(b) == 0 {
		return append(dst, '\'', '\'')
	}
	dst = append(dst, '0', 'x')
	return hex.AppendEncode(dst, b)
}

// isNumberText reports whether b is a plain decimal number as the server
// prints one (digits, sign, point, exponent), safe to write unquoted.
func isNumberText(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	digit := false
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E':
		default:
			return false
		}
	}
	return digit
}

// appendSQLiteText appends a SQLite text value: '…' with quotes doubled (SQLite
// has no backslash escapes), or CAST(X'…' AS TEXT) when the bytes are not
// valid UTF-8 or hold NUL, which a literal cannot carry.
func appendSQLiteText(dst, b []byte) []byte {
	if !utf8.Valid(b) || strings.IndexByte(string(b), 0) >= 0 {
		dst = append(dst, "CAST("...)
		dst = appendSQLiteBlob(dst, b)
		return append(dst, " AS TEXT)"...)
	}
	dst = append(dst, '\'')
	for _, c := range b {
		if c == '\'' {
			dst = append(dst, '\'')
		}
		dst = append(dst, c)
	}
	return append(dst, '\'')
}

// appendSQLiteBlob appends X'…'.
func appendSQLiteBlob(dst, b []byte) []byte {
	dst = append(dst, 'X', '\'')
	dst = hex.AppendEncode(dst, b)
	return append(dst, '\'')
}

// appendSQLiteReal appends a REAL literal that parses back to the same
// float64 and stays REAL (never looks like an integer).
func appendSQLiteReal(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 1):
		return append(dst, "9e999"...)
	case math.IsInf(f, -1):
		return append(dst, "-9e999"...)
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, 'g', -1, 64)
	if !strings.ContainsAny(string(dst[start:]), ".eEn") {
		dst = append(dst, '.', '0')
	}
	return dst
}
