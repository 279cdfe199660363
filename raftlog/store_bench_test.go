package raftlog

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// BenchmarkLogStore measures StoreLogs (fsync'd) of 200-byte entries in a
// temp dir on the work disk. One op = one StoreLogs call of `batch` entries.
//
//	go test -run XXX -bench LogStore -benchtime 2s ./raftlog/
func BenchmarkLogStore(b *testing.B) {
	payload := make([]byte, 200)
	for i := range payload {
		payload[i] = byte(i)
	}
	for _, kind := range []string{LogStoreWAL, LogStoreBoltDB} {
		for _, batch := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/batch=%d", kind, batch), func(b *testing.B) {
				store, err := openLogStore(kind, b.TempDir(), testLogger())
				if err != nil {
					b.Fatal(err)
				}
				defer store.Close()
				logs := make([]*raft.Log, batch)
				next := uint64(1)
				b.SetBytes(int64(batch * len(payload)))
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i++ {
					for j := range logs {
						logs[j] = &raft.Log{Index: next, Term: 1, Type: raft.LogCommand, Data: payload, AppendedAt: time.Now()}
						next++
					}
					if err := store.StoreLogs(logs); err != nil {
						b.Fatal(err)
					}
				}
				elapsed := time.Since(start)
				b.ReportMetric(float64(b.N*batch)/elapsed.Seconds(), "entries/s")
			})
		}
	}
}
