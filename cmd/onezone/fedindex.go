package main

import (
	"context"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// FetchFedIndex is the list's FED_INDEX column (OneZoneHelper#
// get_fed_index): for each zone ENDPOINT, the FEDLOG_INDEX text of the
// RAFT document one.zone.raftstatus returns there ("" when it has none),
// "-" when the call fails. The calls run concurrently, each bounded by
// timeout (OpenNebula: one after the other, 5 s each).
func FetchFedIndex(ctx context.Context, endpoints []string, timeout time.Duration, fetch StatusFunc) map[string]string {
	out := make(map[string]string, len(endpoints))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, ep := range endpoints {
		wg.Go(func() {
			v := "-"
			cctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			if doc, err := fetch(cctx, ep); err == nil {
				if root, err := ParseXML(doc); err == nil {
					v = ""
					if root.Name == "RAFT" {
						if e := root.Child("FEDLOG_INDEX"); e != nil {
							v = e.Content()
						}
					}
				}
			}
			mu.Lock()
			out[ep] = v
			mu.Unlock()
		})
	}
	wg.Wait()
	return out
}

// isTerminal: w is a terminal (OpenNebula then prints headers bold and
// underlined, and colours STAT).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
