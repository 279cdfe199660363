package oned

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// section maps a YAML mapping's keys to destinations: a pointer to a
// scalar, or a nested section.
type section map[string]any

func (s section) decode(prefix string, n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("%w: %s: line %d: want a mapping of keys", ErrConfig, name(prefix, ""), n.Line)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := strings.ToUpper(k.Value)
		full := name(prefix, key)
		if seen[key] {
			return fmt.Errorf("%w: %s: line %d: key given twice", ErrConfig, full, k.Line)
		}
		seen[key] = true
		dst, ok := s[key]
		if !ok {
			return fmt.Errorf("%w: %s: line %d: unknown key (known: %s)", ErrConfig, full, k.Line, strings.Join(s.keys(), ", "))
		}
		if sub, ok := dst.(section); ok {
			if err := sub.decode(full, v); err != nil {
				return err
			}
			continue
		}
		if list, ok := dst.(interface {
			decode(string, *yaml.Node) error
		}); ok {
			if err := list.decode(full, v); err != nil {
				return err
			}
			continue
		}
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("%w: %s: line %d: want a single value", ErrConfig, full, v.Line)
		}
		if err := v.Decode(dst); err != nil {
			return fmt.Errorf("%w: %s: line %d: %q is not a valid %s", ErrConfig, full, v.Line, v.Value, kind(dst))
		}
	}
	return nil
}

// vipList decodes VIP: a list of {INTERFACE, ADDRESS} mappings.
type vipList struct{ dst *[]VIPConfig }

func (l vipList) decode(prefix string, n *yaml.Node) error {
	if n.Kind != yaml.SequenceNode {
		return fmt.Errorf("%w: %s: line %d: want a list of {INTERFACE, ADDRESS}", ErrConfig, prefix, n.Line)
	}
	*l.dst = nil
	for i, item := range n.Content {
		var v VIPConfig
		if err := (section{"INTERFACE": &v.Interface, "ADDRESS": &v.Address}).decode(fmt.Sprintf("%s[%d]", prefix, i), item); err != nil {
			return err
		}
		*l.dst = append(*l.dst, v)
	}
	return nil
}

// stringList decodes a list of strings, or one string of comma-separated
// items (oned.conf style).
type stringList struct{ dst *[]string }

func (l stringList) decode(prefix string, n *yaml.Node) error {
	*l.dst = nil
	switch n.Kind {
	case yaml.ScalarNode:
		for _, item := range strings.Split(n.Value, ",") {
			if item = strings.TrimSpace(item); item != "" {
				*l.dst = append(*l.dst, item)
			}
		}
		return nil
	case yaml.SequenceNode:
		for i, item := range n.Content {
			if item.Kind != yaml.ScalarNode {
				return fmt.Errorf("%w: %s[%d]: line %d: want a name", ErrConfig, prefix, i, item.Line)
			}
			*l.dst = append(*l.dst, item.Value)
		}
		return nil
	}
	return fmt.Errorf("%w: %s: line %d: want a list of names", ErrConfig, prefix, n.Line)
}

func (s section) keys() []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func name(prefix, key string) string {
	switch {
	case prefix == "":
		return key
	case key == "":
		return prefix
	}
	return prefix + "." + key
}

func kind(dst any) string {
	switch dst.(type) {
	case *int:
		return "integer"
	case *string:
		return "string"
	case *bool:
		return "boolean (true or false)"
	}
	return fmt.Sprintf("%T", dst)
}
