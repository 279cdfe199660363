package xmlrpc

import (
	"encoding/xml"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestNameTablesMatchEncodingXML: for every rune above ASCII, validName
// accepts it first in a name, and after a first letter, exactly when
// encoding/xml accepts such an element name.
func TestNameTablesMatchEncodingXML(t *testing.T) {
	if testing.Short() {
		t.Skip("checks every rune")
	}
	xmlAccepts := func(name string) bool {
		_, err := xml.NewDecoder(strings.NewReader("<" + name + "/>")).RawToken()
		return err == nil
	}
	for r := rune(utf8.RuneSelf); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		s := string(r)
		if got, want := validName([]byte(s)), xmlAccepts(s); got != want {
			t.Fatalf("%U first: validName %v, encoding/xml %v", r, got, want)
		}
		if got, want := validName([]byte("a"+s)), xmlAccepts("a"+s); got != want {
			t.Fatalf("%U after a letter: validName %v, encoding/xml %v", r, got, want)
		}
	}
}
