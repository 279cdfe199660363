package main

import (
	"bytes"
	"testing"
)

func TestRenderMembers(t *testing.T) {
	ms, err := parseMembers([]any{
		map[string]any{"ID": int64(0), "ADDRESS": "198.18.10.10:2633", "VOTER": true},
		map[string]any{"ID": int64(1), "ADDRESS": "198.18.10.11:2633", "VOTER": false},
	})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := renderMembers(&b, ms, TableOptions{}); err != nil {
		t.Fatal(err)
	}
	want := "ID ADDRESS           SUFFRAGE \n 0 198.18.10.10:2633 voter\n 1 198.18.10.11:2633 non-voter\n"
	if got := b.String(); got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	if _, err := parseMembers("x"); err == nil {
		t.Fatal("a string was accepted as a member list")
	}
}
