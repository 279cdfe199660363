package main

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// PrettyYAML is Psych's to_yaml of a hash from ToHash, as OpenNebula's CLI
// prints it (`hash.to_yaml(:indent => 4)`: Psych ignores :indent, so the
// indentation is libyaml's two spaces), with the newline `puts` adds when
// missing. Sequences inside a mapping are not indented ("key:\n- a"),
// strings Psych would read back as another type are single-quoted ('0',
// 'on'), strings starting with a non-word character double-quoted ("-1",
// "-"), as Psych does. gopkg.in/yaml.v3 indents and quotes differently,
// hence this small emitter for the only shapes to_hash produces (hashes,
// arrays, strings).
//
// Not reproduced: libyaml folds plain scalars with spaces past column 80.
func PrettyYAML(h *HMap) string {
	var b strings.Builder
	if len(h.Keys) == 0 {
		return "--- {}\n"
	}
	b.WriteString("---\n")
	yamlMap(&b, h, 0, "")
	return b.String()
}

// yamlMap writes m's entries at indent; first, when set, replaces the
// indentation of the first line (a sequence item's "- ").
func yamlMap(b *strings.Builder, m *HMap, indent int, first string) {
	for i, k := range m.Keys {
		if i == 0 && first != "" {
			b.WriteString(first)
		} else {
			b.WriteString(strings.Repeat(" ", indent))
		}
		b.WriteString(yamlScalar(k, indent) + ":")
		yamlValue(b, m.Vals[k], indent, false)
	}
}

// yamlValue writes v after "key:" (inSeq false) or "-" (inSeq true), the
// key or dash being at indent.
func yamlValue(b *strings.Builder, v any, indent int, inSeq bool) {
	switch v := v.(type) {
	case string:
		b.WriteString(" " + yamlScalar(v, indent+2) + "\n")
	case *HMap:
		switch {
		case len(v.Keys) == 0:
			b.WriteString(" {}\n")
		case inSeq:
			yamlMap(b, v, indent+2, " ")
		default:
			b.WriteString("\n")
			yamlMap(b, v, indent+2, "")
		}
	case []any:
		if len(v) == 0 {
			b.WriteString(" []\n")
			return
		}
		seqIndent := indent // a sequence in a mapping is not indented
		if inSeq {
			seqIndent = indent + 2
		}
		b.WriteString("\n")
		for _, e := range v {
			b.WriteString(strings.Repeat(" ", seqIndent) + "-")
			yamlValue(b, e, seqIndent, true)
		}
	}
}

// yamlScalar picks Psych's style for a string (Psych::Visitors::YAMLTree
// #visit_String, then libyaml's check that a plain scalar is allowed).
func yamlScalar(s string, indent int) string {
	switch {
	case strings.Contains(strings.TrimSuffix(s, "\n"), "\n"):
		return yamlLiteral(s, indent)
	case s == "y" || s == "Y" || s == "n" || s == "N":
		return yamlDouble(s)
	case s != "" && !isWordRune(firstRune(s)) && !strings.Contains(s, `"`):
		return yamlDouble(s)
	case !psychString(s) || regexp.MustCompile(`^0[0-7]*[89]`).MatchString(s):
		return yamlSingle(s)
	}
	if hasSpecial(s) {
		return yamlDouble(s)
	}
	if !plainAllowed(s) {
		return yamlSingle(s)
	}
	return s
}

func firstRune(s string) rune {
	for _, r := range s {
		return r
	}
	return 0
}

// isWordRune is Ruby's [[:word:]]: letters, marks, decimal digits and
// connector punctuation.
func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.Is(unicode.Nd, r) || unicode.Is(unicode.Pc, r)
}

var (
	reStringish = regexp.MustCompile(`^[^\d.:-]?[\pL_\s!@#$%^&*(){}<>|/\\~;=]+`)
	reTime      = regexp.MustCompile(`^-?\d{4}-\d{1,2}-\d{1,2}(?:[Tt]|\s+)\d{1,2}:\d\d:\d\d(?:\.\d*)?(?:\s*(?:Z|[-+]\d{1,2}:?(?:\d\d)?))?$`)
	reDate      = regexp.MustCompile(`^\d{4}-(?:1[012]|0\d|\d)-(?:[12]\d|3[01]|0\d|\d)$`)
	reSpecialF  = regexp.MustCompile(`(?i)^(?:\+?\.inf|-\.inf|\.nan)$`)
	reSexagInt  = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}$`)
	reSexagFlt  = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(:[0-5]?[0-9]){1,2}\.[0-9_]*$`)
	reFloat     = regexp.MustCompile(`^[-+]?([0-9][0-9_,]*)?\.[0-9]*([eE][-+][0-9]+)?$`)
	reInteger   = regexp.MustCompile(`^(?:[-+]?0b[0-1_,]+|[-+]?0[0-7_,]+|[-+]?(?:0|[1-9](?:[0-9]|,[0-9]|_[0-9])*)|[-+]?0x[0-9a-fA-F_,]+)$`)
	reBoolNull  = regexp.MustCompile(`(?i)^(?:yes|true|on|no|false|off|null|~)$`)
)

// psychString reports whether Psych's ScalarScanner#tokenize reads s back
// as a string (otherwise Psych quotes it).
func psychString(s string) bool {
	switch {
	case s == "":
		return false
	case reStringish.MatchString(s) || strings.Contains(s, "\n"):
		if len(s) > 5 || !strings.ContainsRune("ytonf~YTONF", firstRune(s)) {
			return true
		}
		return !reBoolNull.MatchString(s)
	case reTime.MatchString(s), reDate.MatchString(s), reSpecialF.MatchString(s),
		strings.HasPrefix(s, ":") && len(s) > 1, reSexagInt.MatchString(s), reSexagFlt.MatchString(s):
		return false
	case reFloat.MatchString(s):
		return s == "." || s == "+." || s == "-."
	case reInteger.MatchString(s):
		return false
	}
	return true
}

// hasSpecial: characters libyaml only writes double-quoted.
func hasSpecial(s string) bool {
	for _, r := range s {
		if r == '\t' || r == '\n' {
			continue
		}
		if r < 0x20 || r == 0x7f || r == 0xfeff || r >= 0x80 && r < 0xa0 || r == utf8RuneError {
			return true
		}
	}
	return false
}

const utf8RuneError = '\uFFFD'

// plainAllowed is libyaml's yaml_emitter_analyze_scalar verdict for a
// block plain scalar.
func plainAllowed(s string) bool {
	if s == "" || strings.HasPrefix(s, "---") || strings.HasPrefix(s, "...") {
		return false
	}
	if strings.ContainsRune("#,[]{}&*!|>'\"%@`", firstRune(s)) {
		return false
	}
	if (s[0] == '-' || s[0] == '?' || s[0] == ':') && (len(s) == 1 || s[1] == ' ') {
		return false
	}
	if s[0] == ' ' || s[len(s)-1] == ' ' || strings.HasSuffix(s, ":") {
		return false
	}
	return !strings.Contains(s, ": ") && !strings.Contains(s, " #") && !strings.Contains(s, "\n")
}

func yamlSingle(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func yamlDouble(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			fmt.Fprintf(&b, `\x%02X`, r)
		case r == 0xfeff:
			b.WriteString(`\uFEFF`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// yamlLiteral is a literal block ("|-", "|" or "|+" by trailing newlines),
// its lines at indent.
func yamlLiteral(s string, indent int) string {
	chomp := "-"
	body := s
	if strings.HasSuffix(s, "\n") {
		chomp = ""
		body = strings.TrimSuffix(s, "\n")
		if strings.HasSuffix(body, "\n") {
			chomp = "+"
		}
	}
	head := "|"
	if strings.HasPrefix(s, " ") || strings.HasPrefix(s, "\n") {
		head += "2"
	}
	var b strings.Builder
	b.WriteString(head + chomp)
	for _, l := range strings.Split(body, "\n") {
		b.WriteByte('\n')
		if l != "" {
			b.WriteString(strings.Repeat(" ", indent) + l)
		}
	}
	return b.String()
}
