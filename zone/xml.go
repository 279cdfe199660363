package zone

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// XML renders the zone as OpenNebula's one.zone.info prints it:
//
//	<ZONE><ID>0</ID><NAME>OpenNebula</NAME><STATE>0</STATE><TEMPLATE><ENDPOINT><![CDATA[http://localhost:2633/RPC2]]></ENDPOINT></TEMPLATE><SERVER_POOL><SERVER><ENDPOINT><![CDATA[...]]></ENDPOINT><ID>0</ID><NAME><![CDATA[...]]></NAME></SERVER>...</SERVER_POOL></ZONE>
//
// Text is escaped, CDATA sections are split around "]]>", and characters
// XML cannot carry are replaced by U+FFFD, so the output always parses.
func (z Zone) XML() string {
	var b strings.Builder
	z.writeXML(&b)
	return b.String()
}

// PoolXML renders zones as one.zonepool.info: <ZONE_POOL><ZONE>…</ZONE>…</ZONE_POOL>.
func PoolXML(zs []Zone) string {
	var b strings.Builder
	b.WriteString("<ZONE_POOL>")
	for _, z := range zs {
		z.writeXML(&b)
	}
	b.WriteString("</ZONE_POOL>")
	return b.String()
}

func (z Zone) writeXML(b *strings.Builder) {
	b.WriteString("<ZONE><ID>")
	b.WriteString(strconv.Itoa(z.ID))
	b.WriteString("</ID><NAME>")
	writeText(b, z.Name)
	b.WriteString("</NAME><STATE>")
	b.WriteString(strconv.Itoa(z.State))
	b.WriteString("</STATE>")
	t := z.Template
	if len(t.Attrs) == 0 {
		t = Template{Attrs: []Attr{{Name: "ENDPOINT", Value: z.Endpoint}}}
	}
	t.writeXML(b)
	b.WriteString("<SERVER_POOL>")
	for _, s := range z.Servers {
		b.WriteString("<SERVER><ENDPOINT>")
		writeCDATA(b, s.Endpoint)
		b.WriteString("</ENDPOINT><ID>")
		b.WriteString(strconv.Itoa(s.ID))
		b.WriteString("</ID><NAME>")
		writeCDATA(b, s.Name)
		b.WriteString("</NAME></SERVER>")
	}
	b.WriteString("</SERVER_POOL></ZONE>")
}

// writeCDATA writes s as CDATA, splitting the section wherever s contains
// "]]>" so the terminator never appears inside it.
func writeCDATA(b *strings.Builder, s string) {
	b.WriteString("<![CDATA[")
	b.WriteString(strings.ReplaceAll(xmlChars(s), "]]>", "]]]]><![CDATA[>"))
	b.WriteString("]]>")
}

// writeText writes s as escaped character data.
func writeText(b *strings.Builder, s string) {
	for _, r := range xmlChars(s) {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			b.WriteRune(r)
		}
	}
}

// xmlChars replaces runes outside XML 1.0's Char production (and invalid
// UTF-8) with U+FFFD.
func xmlChars(s string) string {
	ok := true
	for _, r := range s {
		if !isXMLChar(r) {
			ok = false
			break
		}
	}
	if ok && utf8.ValidString(s) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if !isXMLChar(r) {
			return utf8.RuneError
		}
		return r
	}, s)
}

func isXMLChar(r rune) bool {
	switch {
	case r == 0x9 || r == 0xA || r == 0xD:
		return true
	case r >= 0x20 && r <= 0xD7FF:
		return true
	case r >= 0xE000 && r <= 0xFFFD:
		return true
	case r >= 0x10000 && r <= 0x10FFFF:
		return true
	}
	return false
}
