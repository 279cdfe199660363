package xmlrpc

// Name spaces, as far as they decide acceptance: encoding/xml translates
// an element's prefix (or, without one, the default name space) through
// the xmlns attributes in scope, and the parser rejects every element that
// ends up in a non-empty name space. So a binding only needs to record
// whether it binds the empty name space.

// nsBinding is one xmlns (prefix empty) or xmlns:prefix attribute.
type nsBinding struct {
	prefix span
	empty  bool  // the attribute value is empty
	prev   int32 // index in lexer.ns of the binding of the same prefix this one hides, or -1
}

// nsIndex maps a prefix to the index in lexer.ns of its innermost binding,
// so that a lookup costs the same however many bindings are in scope. It
// is made on the first binding.
type nsIndex map[string]int32

// bind adds a binding of prefix, in scope until unbind drops it.
func (lx *lexer) bind(prefix span, empty bool) {
	if lx.nsTop == nil {
		lx.nsTop = nsIndex{}
	}
	key := string(lx.bytes(prefix))
	prev, ok := lx.nsTop[key]
	if !ok {
		prev = -1
	}
	lx.nsTop[key] = int32(len(lx.ns))
	lx.ns = append(lx.ns, nsBinding{prefix: prefix, empty: empty, prev: prev})
}

// unbind drops the bindings from mark on, innermost first, bringing back
// those they hid.
func (lx *lexer) unbind(mark int) {
	for i := len(lx.ns) - 1; i >= mark; i-- {
		b := lx.ns[i]
		if key := string(lx.bytes(b.prefix)); b.prev < 0 {
			delete(lx.nsTop, key)
		} else {
			lx.nsTop[key] = b.prev
		}
	}
	lx.ns = lx.ns[:mark]
}

// inSpace reports whether encoding/xml would give the element name a
// non-empty name space: prefix xmlns or xml always, the default or a
// declared prefix if bound to a non-empty space, an undeclared prefix
// always, no prefix without a binding never.
func (lx *lexer) inSpace(name, local span) bool {
	var prefix []byte
	if local.lo > name.lo {
		prefix = lx.buf[name.lo : local.lo-1]
	}
	switch {
	case string(prefix) == "xmlns" || string(prefix) == "xml":
		return true
	case len(prefix) == 0 && string(lx.bytes(local)) == "xmlns":
		return false
	}
	if len(lx.ns) > 0 {
		if i, ok := lx.nsTop[string(prefix)]; ok {
			return !lx.ns[i].empty
		}
	}
	return len(prefix) > 0
}
