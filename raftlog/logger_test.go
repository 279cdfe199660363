package raftlog

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestHCLogAdapter(t *testing.T) {
	tests := []struct {
		name    string
		log     func(l hclog.Logger)
		want    []string // substrings of the output
		wantOut bool
	}{
		{"info with args", func(l hclog.Logger) { l.Info("entering leader state", "term", 3) },
			[]string{"level=INFO", `msg="entering leader state"`, "logger=raft", "term=3"}, true},
		{"warn", func(l hclog.Logger) { l.Warn("failed to contact", "server-id", "1") },
			[]string{"level=WARN", "server-id=1"}, true},
		{"error", func(l hclog.Logger) { l.Error("boom") }, []string{"level=ERROR"}, true},
		{"trace filtered by default level", func(l hclog.Logger) { l.Trace("noisy") }, nil, false},
		{"hclog.Fmt rendered", func(l hclog.Logger) { l.Info("cfg", "servers", hclog.Fmt("%d servers", 3)) },
			[]string{`servers="3 servers"`}, true},
		{"odd args", func(l hclog.Logger) { l.Info("odd", "k") }, []string{"EXTRA_VALUE_AT_END=k"}, true},
		{"With and Named", func(l hclog.Logger) { l.With("peer", "2").Named("repl").Info("x") },
			[]string{"peer=2", "logger=raft.repl"}, true},
		{"standard logger level tag", func(l hclog.Logger) {
			l.StandardLogger(nil).Print("[WARN] raft: old style")
		}, []string{"level=WARN", `msg="raft: old style"`}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			sl := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slogLevelTrace}))
			tt.log(NewHCLogger(sl, "raft"))
			out := buf.String()
			if !tt.wantOut {
				if out != "" {
					t.Fatalf("unexpected output %q", out)
				}
				return
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output %q lacks %q", out, w)
				}
			}
		})
	}
}
