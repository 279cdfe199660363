package sqlfsm

import (
	"bytes"
	"compress/flate"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
)

// vmBody is an OpenNebula-like VM body of about n bytes: XML with varying
// numbers, as oned writes into vm_pool.body. It compresses but is not a
// single repeated byte, so DEFLATE does real work.
func vmBody(n int) string {
	var b strings.Builder
	b.WriteString("<VM><ID>42</ID><UID>0</UID><GID>0</GID><NAME>one-42</NAME><TEMPLATE>")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "<DISK><DISK_ID>%d</DISK_ID><IMAGE_ID>%d</IMAGE_ID><SIZE>%d</SIZE><TARGET>vd%c</TARGET><DATASTORE>default</DATASTORE></DISK>",
			i, i*7919%1000, 1024+i*i*31%65536, 'a'+rune(i%26))
	}
	b.WriteString("</TEMPLATE></VM>")
	return b.String()
}

// benchEntries are the entries the Encode benchmarks and the pooled-codec
// test use: a small update (below compressAbove, never compressed) and
// OpenNebula-sized VM bodies (compressed).
func benchEntries() map[string]*Entry {
	ts := time.Date(2026, 11, 25, 9, 35, 39, 123456000, time.UTC)
	out := map[string]*Entry{
		"small": {Context: Context{Time: ts, Seed1: 1, Seed2: 2}, Statements: []Statement{
			{SQL: "UPDATE vm_pool SET state = ?, lcm_state = ? WHERE oid = ?", Params: []any{int64(3), int64(3), int64(42)}}}},
	}
	for _, n := range []int{8 << 10, 64 << 10} {
		out[fmt.Sprintf("vm%dk", n>>10)] = &Entry{Context: Context{Time: ts, Seed1: 1, Seed2: 2}, Statements: []Statement{
			{SQL: "REPLACE INTO vm_pool (oid, name, body, uid, gid, state, lcm_state) VALUES (?, ?, ?, ?, ?, ?, ?)",
				Params: []any{int64(42), "one-42", vmBody(n), int64(0), int64(0), int64(3), int64(3)}}}}
	}
	return out
}

func BenchmarkEncode(b *testing.B) {
	entries := benchEntries()
	for _, name := range []string{"small", "vm8k", "vm64k"} {
		e := entries[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var enc Encoder // as DB holds one
			for b.Loop() {
				if _, err := enc.Encode(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// freshDeflate is the compressor as Encode used it before Encoder pooled
// them: a new BestSpeed writer per body.
func freshDeflate(t *testing.T, body []byte) []byte {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestEncoderMatchesEncode: a pooled compressor, reused across entries of
// every size in any order and from concurrent goroutines, produces exactly
// the bytes a fresh compressor does, so pooling on the leader cannot change
// what replicas receive.
func TestEncoderMatchesEncode(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var entries []*Entry
	for _, e := range benchEntries() {
		entries = append(entries, e)
	}
	for i := 0; i < 40; i++ {
		n := compressAbove - 64 + rng.IntN(96<<10)
		body := vmBody(n)
		if i%3 == 0 { // incompressible: the pooled writer must still fall back
			b := make([]byte, n)
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
			body = string(b)
		}
		entries = append(entries, &Entry{Statements: []Statement{{SQL: "INSERT INTO t VALUES (?)", Params: []any{body}}}})
	}
	var enc Encoder
	check := func(t *testing.T, e *Entry) {
		got, err := enc.Encode(e)
		if err != nil {
			t.Error(err)
			return
		}
		want, err := Encode(e)
		if err != nil {
			t.Error(err)
			return
		}
		if !bytes.Equal(got, want) {
			t.Errorf("pooled encoding (%d bytes) differs from a fresh one (%d bytes)", len(got), len(want))
			return
		}
		if got[1]&flagCompressed != 0 {
			raw, err := inflate(got[2:])
			if err != nil {
				t.Error(err)
				return
			}
			if old := freshDeflate(t, raw); !bytes.Equal(got[2:], old) {
				t.Errorf("compressed body differs from the pre-pool compressor's output")
			}
		}
	}
	for round := 0; round < 3; round++ {
		rng.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
		for _, e := range entries {
			check(t, e)
		}
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for i := g; i < len(entries); i += 4 {
				check(t, entries[i])
			}
		})
	}
	wg.Wait()
}
