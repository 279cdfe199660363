package zone_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/oneha/oneha/zone"
)

func single(n, v string) zone.Attr { return zone.Attr{Name: n, Value: v} }
func vec(n string, kv ...string) zone.Attr {
	a := zone.Attr{Name: n, Vector: []zone.Pair{}}
	for i := 0; i < len(kv); i += 2 {
		a.Vector = append(a.Vector, zone.Pair{Name: kv[i], Value: kv[i+1]})
	}
	return a
}

// TestParseTemplate: both syntaxes oned accepts give the same attributes,
// quotes, commas and escaped quotes included (the comma bug of the old
// addserver parser).
func TestParseTemplate(t *testing.T) {
	server := vec("SERVER", "NAME", "a,b", "ENDPOINT", "http://h:2633/RPC2")
	tests := []struct {
		name string
		in   string
		want []zone.Attr
	}{
		{"onezone server-add", `SERVER = [ NAME = "a,b", ENDPOINT = "http://h:2633/RPC2" ]`, []zone.Attr{server}},
		{"pyone XML", `<TEMPLATE><SERVER><NAME>a,b</NAME><ENDPOINT>http://h:2633/RPC2</ENDPOINT></SERVER></TEMPLATE>`, []zone.Attr{server}},
		{"XML with CDATA and declaration", `<?xml version="1.0"?>` + "\n" + `<TEMPLATE><SERVER><NAME><![CDATA[a,b]]></NAME><ENDPOINT><![CDATA[http://h:2633/RPC2]]></ENDPOINT></SERVER></TEMPLATE>`, []zone.Attr{server}},
		{"multi-line vector, trailing comma, lower case", "server=[\n  name=\"a,b\",\n  endpoint=http://h:2633/RPC2,\n]", []zone.Attr{server}},
		{"escaped quotes and backslashes", `NAME = "say \"hi\" \\ \n"`, []zone.Attr{single("NAME", `say "hi" \ \n`)}},
		{"several attributes, comments, unquoted", "NAME = z1 # the name\nENDPOINT = \"http://x:1/RPC2\"\n\nDESCRIPTION=\"a = b, c\"",
			[]zone.Attr{single("NAME", "z1"), single("ENDPOINT", "http://x:1/RPC2"), single("DESCRIPTION", "a = b, c")}},
		{"repeated vectors", `SERVER=[NAME="a"] SERVER=[NAME="b"]`, []zone.Attr{vec("SERVER", "NAME", "a"), vec("SERVER", "NAME", "b")}},
		{"empty values", `A = "" B = []`, []zone.Attr{single("A", ""), vec("B")}},
		{"XML multiple attributes", `<ZONE><NAME>n</NAME><LABELS><A>1</A><B>x &amp; y</B></LABELS></ZONE>`,
			[]zone.Attr{single("NAME", "n"), vec("LABELS", "A", "1", "B", "x & y")}},
		{"empty template", " \n# nothing\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := zone.ParseTemplate(tt.in)
			if err != nil {
				t.Fatalf("ParseTemplate(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got.Attrs, tt.want) {
				t.Fatalf("ParseTemplate(%q)\n got %#v\nwant %#v", tt.in, got.Attrs, tt.want)
			}
			// Both renderings read back to the same attributes.
			for _, out := range []string{got.String(), got.XML()} {
				back, err := zone.ParseTemplate(out)
				if err != nil {
					t.Fatalf("re-parse %q: %v", out, err)
				}
				if len(back.Attrs) != len(got.Attrs) {
					t.Fatalf("re-parse %q: %d attributes, want %d", out, len(back.Attrs), len(got.Attrs))
				}
			}
		})
	}
}

// TestParseTemplateRefuses: garbage, truncation and oversize fail with
// ErrTemplate and a message that says where; nothing is half-parsed.
func TestParseTemplateRefuses(t *testing.T) {
	many := strings.Repeat("A=1\n", zone.MaxTemplateAttrs+1)
	tests := []struct{ name, in, msg string }{
		{"unterminated quote", `NAME = "abc`, "unterminated"},
		{"unterminated vector", `SERVER = [ NAME = "a"`, "unexpected end"},
		{"missing comma", `SERVER = [ NAME = "a" ENDPOINT = "b" ]`, "want ',' or ']'"},
		{"missing equal", `NAME "a"`, "want '='"},
		{"missing value", "NAME =\nB=1", "missing value"},
		{"nested vector", `A = [ B = [ C = 1 ] ]`, "want a value"},
		{"bad name", `N@ME = 1`, "want '='"},
		{"junk after quoted value", `NAME = "a"b`, "after the value"},
		{"repeated key", `SERVER = [ NAME = a, NAME = b ]`, "repeated"},
		{"oversize", strings.Repeat("x", zone.MaxTemplateBytes+1), "at most"},
		{"too many attributes", many, "more than"},
		{"long name", strings.Repeat("N", 129) + "=1", "longer than"},
		{"invalid UTF-8", "A=\xff", "UTF-8"},
		{"XML unclosed", `<TEMPLATE><NAME>a</NAME>`, "XML"},
		{"XML too deep", `<T><A><B><C>1</C></B></A></T>`, "too deeply"},
		{"XML mixed", `<T><A>x<B>1</B></A></T>`, "mixes"},
		{"XML two roots", `<T/><U/>`, "after the root"},
		{"XML entity", `<!DOCTYPE t [<!ENTITY e "x">]><T><A>&e;</A></T>`, "directives"},
		{"XML text in root", `<T>hello</T>`, "inside the root"},
		{"XML repeated key", `<T><S><N>a</N><N>b</N></S></T>`, "repeated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := zone.ParseTemplate(tt.in)
			if !errors.Is(err, zone.ErrTemplate) {
				t.Fatalf("ParseTemplate(%.60q) = %#v, %v; want ErrTemplate", tt.in, got, err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

func TestTemplateMerge(t *testing.T) {
	base, _ := zone.ParseTemplate(`ENDPOINT="e" A="1" L=[X=1] L=[X=2]`)
	upd, _ := zone.ParseTemplate(`A="2" L=[Y=3] B="new"`)
	base.Merge(upd)
	want := `<TEMPLATE><A><![CDATA[2]]></A><B><![CDATA[new]]></B><ENDPOINT><![CDATA[e]]></ENDPOINT><L><Y><![CDATA[3]]></Y></L></TEMPLATE>`
	if got := base.XML(); got != want {
		t.Fatalf("merged\n got %s\nwant %s", got, want)
	}
}
