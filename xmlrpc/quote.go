package xmlrpc

import (
	"strconv"
	"unicode/utf8"
)

// MaxEcho is the most bytes of client input that Quote copies into an
// answer or a log line.
const MaxEcho = 100

// Quote makes client input safe to echo in a fault, an error answer or a
// log line: at most MaxEcho bytes of s (cut at a rune boundary), escaped as
// a Go string literal, with the original length noted when cut. Every place
// that formats client-supplied text into a response uses it, so an answer
// never grows with the size of the request.
func Quote(s string) string {
	if len(s) <= MaxEcho {
		return strconv.Quote(s)
	}
	cut := MaxEcho
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…(" + strconv.Itoa(len(s)) + " bytes)"
}

// Clip cuts s to at most MaxEcho bytes (at a rune boundary) without quoting
// it, marking a cut with "…"; for names that are already validated to be
// printable text but may be long.
func Clip(s string) string {
	if len(s) <= MaxEcho {
		return s
	}
	cut := MaxEcho
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
