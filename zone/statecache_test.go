package zone

import "testing"

// TestStateCacheNeverKeepsAValueOlderThanSetState: the cached "disabled"
// answer is per term; SetState's value replaces it at once; a row read
// that started before SetState cannot overwrite SetState's value; a new
// term reads the row again.
func TestStateCacheNeverKeepsAValueOlderThanSetState(t *testing.T) {
	var c stateCache
	if _, ok, _ := c.get(5); ok {
		t.Fatal("empty cache answered")
	}
	_, _, gen := c.get(5) // a Disabled call starts reading the row (enabled)…
	c.invalidate()        // …SetState(disable) begins…
	c.set(5, true)        // …and applies
	c.fill(gen, 5, false) // the slow read ends: must not win
	if d, ok, _ := c.get(5); !ok || !d {
		t.Fatalf("after SetState(disable) and a racing read: disabled=%v cached=%v, want true true", d, ok)
	}
	if _, ok, _ := c.get(6); ok {
		t.Fatal("a new term used the previous term's answer")
	}
	_, _, gen = c.get(6)
	c.fill(gen, 6, false)
	if d, ok, _ := c.get(6); !ok || d {
		t.Fatalf("term 6 after a read of enabled: disabled=%v cached=%v", d, ok)
	}
}
