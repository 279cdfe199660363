package sqlfsm

import (
	"fmt"
	"strings"
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
			for b.Loop() {
				if _, err := Encode(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
