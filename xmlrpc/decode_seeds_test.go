package xmlrpc

import "strings"

// diffSeeds are the inner XML of a <value> that exercise one rule of
// encoding/xml each; the differential fuzz tests add each as is, as a
// call parameter and as a response value.
var diffSeeds = []string{
	// Character and entity references.
	"&#65;&#x41;&#0000000000000000000065;", "&#X41;", "&#x;", "&#;", "&#0;", "&#9;&#10;&#13;&#xD;", "&#x1F;",
	"&#xD800;", "&#xDFFF;", "&#xFFFD;", "&#xFFFE;", "&#xFFFF;", "&#x10000;", "&#x10FFFF;", "&#x110000;",
	"&#99999999999999999999999999;", "&#xffffffffffffffffffff;", "&#65", "&#x41 ;", "&#-1;", "&#+1;",
	"&lt;&gt;&amp;&apos;&quot;", "&LT;", "&lt", "&lt ;", "&nbsp;", "&;", "&", "a&", "&#", "&#x", "&l&t;",
	"&lt:x;", "&é;", "&amp;amp;", "<string>&lt;b&gt;&#x1F600;</string>",
	// Characters: invalid UTF-8, controls, non-characters, surrogates.
	"\xff", "a\xc3", "\xc3\x28", "\xc0\xaf", "\xed\xa0\x80", "\xef\xbf\xbe", "\xef\xbf\xbf", "\xef\xbf\xbd",
	"\x00", "\x01", "\x0b", "\x0c", "\x1f", "\x7f", "\u0085", "\u00a0", "\U0010FFFF", "\xf4\x90\x80\x80",
	"<string>\xff</string>", "<!-- \xff \x01 -->", "<![CDATA[\xff]]>", "<![CDATA[\x01]]>", "<![CDATA[\u00e9\x7f]]>",
	// Line ends.
	"a\r\nb", "a\rb", "\r\r\n\n", "\r&#10;", "\r<!---->\n", "<string>\r\n</string>", "<![CDATA[\r\n\r]]>",
	"<![CDATA[\r]]>\n", "&#13;\n", "\r", "<i4>\r1\r</i4>",
	// CDATA sections.
	"<![CDATA[]]>", "<![CDATA[a]]b]]>", "<![CDATA[a]]]>", "<![CDATA[<&>]]>", "<![CDATA[", "<![CDAT[x]]>",
	"<![cdata[x]]>", "<![CDATA[x]]", "a<![CDATA[b]]>c", "<![CDATA[ ]]><i4>1</i4>", "<i4><![CDATA[7]]></i4>",
	"<string><![CDATA[a]]><![CDATA[b]]></string>", "<![", "<![C",
	// ]]> in text and attributes.
	"a]]>b", "]]&gt;", "]]]>", "]]", "]&#93;>", "]]<!---->>", "<string a=\"]]>\">x</string>",
	// Comments.
	"<!---->", "<!-- a -- b -->", "<!--->", "<!-- - -->", "<!--x--->", "<!--", "<!-", "<!-x-->", "<!-- -- >",
	"a<!--c-->b", "<!--c--><i4>1</i4><!--d-->", "<i4>1<!---->2</i4>",
	// Processing instructions.
	"<?pi?>", "<?pi x?>", "<? pi?>", "<?1pi?>", "<?xml?>", "<?xml version=\"2.0\"?>", "<?pi", "<?pi ?",
	"<?xml encoding=\"EBCDIC\"?>x", "<?xml encoding=\"latin1\"?>caf\xe9", "a<?p?>b", "<?xml-stylesheet href='a'?>",
	"<?a:b:c?>", "<?é?>",
	// Directives.
	"<!DOCTYPE x>", "<!>", "<!x<>>", "<!x '>' >", "<!x \"a'\">", "<!x <!-- > --> >", "<!x <!- > >", "<!x",
	"<!DOCTYPE x [<!ENTITY e \"v\">]>&e;", "<!ENTITY e \"v\">", "<!x <<>> >", "<!'>", "<!x <!>>", "<!x <!->>",
	// Elements, names, attributes.
	"<string/>", "<string />", "<string / >", "<string/ >", "<string a=\"1\"/>", "<string a='1'b=\"2\">x</string>",
	"<string a=1>x</string>", "<string a>x</string>", "<string a=>x</string>", "<string a=\"<\">x</string>",
	"<string a=\"&lt;&#x41;\">x</string>", "<string a=\"&bad;\">x</string>", "<string a=\"\x01\">x</string>",
	"<string a=\"\xff\">x</string>", "<string a = \"1\" >x</string>", "<string a:b:c=\"1\">x</string>",
	"<string :a=\"1\" a:=\"2\" xmlns:=\"3\">x</string>", "<string\x00>", "<string", "<string a=\"1\"",
	"<string>x</string >", "<string>x</string x>", "<string>x</ string>", "<string>x</strin>", "<string>x</string",
	"<i4>1</i4 >", "<1a/>", "<a.b/>", "<é/>", "<string\u00e9/>", "<:string/>", "<string:/>", "<\xff/>",
	"<中/>", "<a\u00b7b/>", "<-a/>", "<_a/>", "<a\u0300/>", "<\u0300/>", "<a\u3000/>",
	// Name spaces.
	"<nil/>", "<nil />", "<ex:nil xmlns:ex=\"http://ws.apache.org/xmlrpc/namespaces/extensions\"/>",
	"<ex:nil xmlns:ex=\"\"/>", "<ex:nil/>", "<nil xmlns=\"u\"/>", "<nil xmlns=\"\"/>", "<xml:nil/>",
	"<xmlns:nil/>", "<ex:i4 xmlns:ex=''>1</ex:i4>", "<ex:i4 xmlns:ex=''>1</i4>", "<ex:i4 xmlns:ex=''>1</ey:i4>",
	"<i4 xmlns=\"u\" xmlns=\"\">1</i4>", "<i4 xmlns=\"\" xmlns=\"u\">1</i4>", "<xmlns>1</xmlns>",
	"<xmlns xmlns='u'/>", "<ex:array xmlns:ex='' xmlns='u'><data/></ex:array>",
	"<ex:array xmlns:ex='' xmlns='u'><data xmlns=''/></ex:array>", "<a:b:c/>", "<xml:i4>1</xml:i4>",
	"<x:struct xmlns:x=''><x:member><name>a</name><value/></x:member></x:struct>",
	"<ex:i4 xmlns:ex='&#32;'>1</ex:i4>",
	// Typed values.
	"<int> +12 </int>", "<int>\u00a012</int>", "<int>0x10</int>", "<int>1_000</int>", "<int>-0</int>",
	"<int>007</int>", "<i4>2147483648</i4>", "<i8>-9223372036854775808</i8>", "<int>\u200012</int>",
	"<boolean>falſe</boolean>", "<boolean>TRUE</boolean>", "<boolean>True\u00a0</boolean>", "<boolean/>",
	"<double>0x1p-2</double>", "<double>1e999</double>", "<double>NaN</double>", "<double>-0</double>",
	"<double> .5 </double>", "<double>1_0</double>", "<double>Inf</double>",
	"<base64>aGVs\u00a0bG8=</base64>", "<base64> </base64>", "<base64>aGVsbG8</base64>", "<base64>====</base64>",
	"<dateTime.iso8601>20240102T03:04:05</dateTime.iso8601>", "<dateTime.iso8601> 2024-01-02T03:04:05Z\n</dateTime.iso8601>",
	"<dateTime.iso8601>99999-01-01T00:00:00Z</dateTime.iso8601>", "<dateTime.iso8601/>",
	"<string>a<b/></string>", "<float>1</float>", "<i4>1</i4><i4>2</i4>", "x<i4>1</i4>", " <i4>1</i4> x",
	"<nil/>&bad;", "x<nil/>", "<nil/><nil/>", "<array><data><value><nil/></value></data></array>",
	"<struct><member><value>1</value><name>a</name></member></struct>", "<struct><member><name/><value/></member></struct>",
	"<struct><member><name>a</name><name>b</name></member></struct>", "<struct><member/></struct>",
	"<array><data/><data/></array>", "<array/>", "<array><data></data>x</array>", "<struct>x</struct>",
	strings.Repeat("<array><data><value>", MaxDepth-1) + strings.Repeat("</value></data></array>", MaxDepth-1),
	strings.Repeat("<array><data><value>", MaxDepth) + strings.Repeat("</value></data></array>", MaxDepth),
	strings.Repeat("<array><data><value>", MaxDepth) + "<nil/>",
}

// documentSeeds are whole bodies: prologs, byte order marks, encodings,
// roots, what follows the root.
var documentSeeds = []string{
	"\xef\xbb\xbf<methodCall><methodName>m</methodName></methodCall>",
	"\xef\xbb\xbf<?xml version=\"1.0\"?>\n<methodCall><methodName>m</methodName></methodCall>",
	"<?xml version=\"1.0\"?>\xef\xbb\xbf<methodCall><methodName>m</methodName></methodCall>",
	"\xef\xbb\xbf<!---->\xef\xbb\xbf <methodCall><methodName>m</methodName></methodCall>",
	" \xef\xbb\xbf<methodCall><methodName>m</methodName></methodCall>",
	"\xef\xbb\xbf\xef\xbb\xbf<methodCall><methodName>m</methodName></methodCall>",
	"&#xFEFF;&#32;<![CDATA[ ]]><methodCall><methodName>m</methodName></methodCall>",
	"<methodCall><methodName>m</methodName></methodCall>\xef\xbb\xbf",
	"<methodCall><methodName>m</methodName></methodCall>&#32;<![CDATA[\n]]><!--x--><?p?><!DOCTYPE x>",
	"<methodCall><methodName>m</methodName></methodCall>x", "<methodCall><methodName>m</methodName></methodCall></x>",
	"<methodCall><methodName>m</methodName></methodCall><a", "<methodCall><methodName>m</methodName></methodCall><a b=\"",
	"<methodCall><methodName>m</methodName></methodCall>\xff", "<methodCall><methodName>m</methodName></methodCall><!--",
	"<methodCall><methodName>m</methodName></methodCall><?xml encoding=\"ebcdic\"?>",
	"<methodCall><methodName>m</methodName></methodCall><?xml version=\"9\"?>",
	"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><methodCall><methodName>caf\xe9</methodName></methodCall>",
	"<?xml version='1.0' encoding='latin-1'?><methodCall><methodName>m\xff</methodName></methodCall>",
	"<?xml encoding=\"LAT\xc4\xb0N1\"?><methodCall><methodName>m\xe9</methodName></methodCall>",
	"<?xml encoding=\"us-ascii\"?><?xml encoding=\"latin1\"?><methodCall><methodName>m\xe9</methodName></methodCall>",
	"<?xml encoding=\"latin1\"?><?xml encoding=\"latin1\"?><methodCall><methodName>m\xe9</methodName></methodCall>",
	"<methodCall><?xml encoding=\"latin1\"?><methodName>\xe9</methodName></methodCall>",
	"<methodCall><methodName>\xc3\xa9<?xml encoding=\"latin1\"?>\xc3\xa9</methodName></methodCall>",
	"<?xml encoding=\"utf-16\"?><methodCall><methodName>m</methodName></methodCall>",
	"<?xml encoding=\"UTF-8\"?><methodCall><methodName>m</methodName></methodCall>",
	"<?xml version=\"1.1\"?><methodCall><methodName>m</methodName></methodCall>",
	"<?xml version=\"\"?><methodCall><methodName>m</methodName></methodCall>",
	"<?xml version=1.1 encoding=\"x\"?><methodCall><methodName>m</methodName></methodCall>",
	"<?xml versionx=\"2\" version=\"1.0\"?><methodCall><methodName>m</methodName></methodCall>",
	"<!DOCTYPE methodCall [<!ENTITY e \"v\">]><methodCall><methodName>m</methodName></methodCall>",
	"<methodCall xmlns=\"\"><methodName>m</methodName></methodCall>",
	"<methodCall xmlns=\"u\"><methodName>m</methodName></methodCall>",
	"<x:methodCall xmlns:x=\"\"><x:methodName>m</x:methodName></x:methodCall>",
	"<x:methodCall xmlns:x=\"u\"><methodName>m</methodName></x:methodCall>",
	"<methodCall xmlns:x=\"\"><methodName>m</methodName><x:params/></methodCall>",
	"<methodCall a=\"1\" b='2'><methodName c=\"3\">m</methodName></methodCall>",
	"<methodCall/>", "<methodCall><methodName/></methodCall>", "<methodCall><methodName>m</methodName><params/></methodCall>",
	"<methodCall><methodName>\u00a0m\u0085</methodName></methodCall>", "<methodCall><methodName>\u00a0</methodName></methodCall>",
	"<methodCall><methodName>a<!---->b</methodName></methodCall>", "<methodCall><methodName>m</methodName>x</methodCall>",
	"<methodCall><params/><methodName>m</methodName></methodCall>", "</methodCall>", "<methodCall>", "<",
	"<methodCall><methodName>m</methodName><params><param><value>1</value></param></params></methodCall >",
	"<methodResponse><params><param><value>x</value></param></params></methodResponse>",
	"<methodResponse><params/></methodResponse>", "<methodResponse/>", "<methodResponse>x</methodResponse>",
	"<methodResponse><fault><value><struct><member><name>faultCode</name><value><i8>-1</i8></value></member>" +
		"<member><name>faultString</name><value><string>&lt;e&gt;</string></value></member></struct></value></fault></methodResponse>",
	"<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member>" +
		"</struct></value></fault></methodResponse>",
	"<methodResponse><fault><value><struct></struct></value><value/></fault></methodResponse>",
	"<methodResponse><fault><value><nil/></value></fault></methodResponse>",
	"<methodResponse><params><param><value>1</value></param><param><value>2</value></param></params></methodResponse>",
	"<methodResponse><params><param><value>1</value></param></params><fault/></methodResponse>",
}
