package xmlrpc

import (
	"strings"
	"testing"
)

// genPieces are the fragments FuzzGeneratedMatchesReference builds
// documents from: XML-RPC tags, markup of every kind the lexer knows,
// references, line ends and bytes that must be rejected. Byte mutation
// alone rarely assembles several of them in one body.
var genPieces = []string{
	"<value>", "</value>", "<value/>", "<string>", "</string>", "<string/>", "<i4>", "</i4>", "<int>", "</int>",
	"<i8>", "</i8>", "<boolean>", "</boolean>", "<double>", "</double>", "<base64>", "</base64>",
	"<dateTime.iso8601>", "</dateTime.iso8601>", "<array>", "</array>", "<data>", "</data>", "<data/>",
	"<struct>", "</struct>", "<struct/>", "<member>", "</member>", "<name>", "</name>", "<nil/>",
	"<param>", "</param>", "<params>", "</params>", "<fault>", "</fault>", "<methodName>", "</methodName>",
	" ", "\n", "\t", "\r", "\r\n", "x", "1", "-7", "0", "true", "aGVsbG8=", "2024-01-02T03:04:05", "1.5e3",
	"é", "\xe9", "\xff", "\x00", "\x01", "\xef\xbb\xbf", "\xef\xbf\xbe", "\u00a0", "\u0085",
	"&lt;", "&amp;", "&quot;", "&#65;", "&#x41;", "&#13;", "&#xD800;", "&#0;", "&bad;", "&", "&#", ";",
	"]]>", "]]", "]", "<![CDATA[", "<![CDATA[a]]>", "<![CDATA[\r\n]]>", "<!--", "-->", "<!-- c -->", "--",
	`<?xml version="1.0"?>`, `<?xml encoding="latin1"?>`, `<?xml encoding="x"?>`, `<?xml version="2"?>`,
	"<?pi?>", "<?", "?>", "<!DOCTYPE x>", "<!DOCTYPE x [<!ENTITY e 'v'>]>", "&e;", "<!", ">",
	"<x:value>", "</x:value>", "<x:nil/>", "<ex:string xmlns:ex=''>", "</ex:string>",
	"<value xmlns=''>", "<value xmlns='u'>", "<value xmlns:x=''>", "<value xmlns:x='u'>",
	"<value a='1'>", "<value a=\"]]>\">", "<value a='<'>", "<value a=1>", "<value a>", "<value / >",
	"<", "</", "/>", "=", "'", "\"", "<1>", "<a:b:c>", "</ value>",
}

// genSkeletons are the documents the pieces go into, at the %s.
var genSkeletons = []string{
	"%s",
	`<?xml version="1.0"?><methodCall><methodName>m</methodName><params><param><value>%s</value></param></params></methodCall>`,
	`<?xml version="1.0"?><methodResponse><params><param><value>%s</value></param></params></methodResponse>`,
	"<methodCall><methodName>%s</methodName></methodCall>",
	"<methodResponse><fault><value>%s</value></fault></methodResponse>",
	"<methodCall><methodName>m</methodName><params><param><value><array><data>%s</data></array></value></param></params></methodCall>",
	"<methodResponse><params><param><value><struct><member>%s</member></struct></value></param></params></methodResponse>",
	"%s<methodCall><methodName>m</methodName></methodCall>",
	"<methodCall><methodName>m</methodName></methodCall>%s",
	"<methodCall>%s</methodCall>",
}

// genDocument builds a document from program: its first byte picks a
// skeleton, each further byte a piece.
func genDocument(program []byte) string {
	if len(program) == 0 {
		return ""
	}
	var b strings.Builder
	for _, c := range program[1:] {
		b.WriteString(genPieces[int(c)%len(genPieces)])
	}
	skeleton := genSkeletons[int(program[0])%len(genSkeletons)]
	before, after, _ := strings.Cut(skeleton, "%s")
	return before + b.String() + after
}

// FuzzGeneratedMatchesReference: DecodeCall and DecodeResponse match the
// reference decoder on documents assembled from genPieces.
func FuzzGeneratedMatchesReference(f *testing.F) {
	for _, p := range []string{"\x01\x00\x01", "\x02\x18\x1a\x1b\x19", "\x00\x50\x51", "\x06\x1d\x1f\x00\x01\x20",
		"\x01\x53\x5f\x5b", "\x07\x5e\x5f", "\x09\x63\x64", "\x04\x19\x1b\x1c\x1e\x1f\x1a"} {
		f.Add([]byte(p))
	}
	f.Fuzz(func(t *testing.T, program []byte) {
		doc := []byte(genDocument(program))
		checkCallMatchesReference(t, doc)
		checkResponseMatchesReference(t, doc)
	})
}
