package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
)

// TestCommandsAgainstRealZone runs onezone list, show, show -j, show -x
// and list -j against a real three-server zone and checks OpenNebula's
// structure: list's header and columns, show's sections and blank lines,
// one HA row per server with a Raft state (no "error"), and each SERVER of
// the JSON and XML documents extended with the six Raft fields.
func TestCommandsAgainstRealZone(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 3})
	z.FormZone()
	leader := z.Leader(20 * time.Second)
	env := map[string]string{"ONE_AUTH": z.Auth, "ONE_XMLRPC": leader.Endpoint, "HOME": t.TempDir()}

	r := run(t, env, "list")
	if r.code != 0 {
		t.Fatalf("list: exit %d: %s", r.code, r.stderr)
	}
	t.Logf("onezone list:\n%s", r.stdout)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	wantHeader := "C    ID NAME                      ENDPOINT                                      FED_INDEX  STAT  "
	if len(lines) != 2 || lines[0] != wantHeader {
		t.Fatalf("list:\n%s", r.stdout)
	}
	if row := lines[1]; len(row) < 90 || row[2:7] != "    0" || !strings.HasSuffix(row, " on") || strings.TrimSpace(row[82:93]) == "" {
		t.Errorf("list row %q: want zone 0, a FED_INDEX, STAT on", row)
	}

	r = run(t, env, "show", "0")
	if r.code != 0 {
		t.Fatalf("show: exit %d: %s", r.code, r.stderr)
	}
	out := r.stdout
	t.Logf("onezone show 0:\n%s", out)
	pad := func(s string) string { return s + strings.Repeat(" ", 80-len(s)) }
	for _, want := range []string{
		pad("ZONE 0 INFORMATION") + "\nID                : 0                   \n",
		"STATE             : ENABLED             \n\n\n" + pad("ZONE SERVERS") + "\nID NAME            ENDPOINT" + strings.Repeat(" ", 55) + "\n",
		"\n" + pad("HA & FEDERATION SYNC STATUS") + "\nID NAME            STATE      TERM       INDEX      COMMIT     VOTE  FED_INDEX \n",
		"\n" + pad("ZONE TEMPLATE") + "\n",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("show lacks %q:\n%s", want, out)
		}
	}
	ha := out[strings.Index(out, "FED_INDEX \n")+len("FED_INDEX \n"):]
	ha = ha[:strings.Index(ha, "\n\n")]
	rows := strings.Split(ha, "\n")
	if len(rows) != 3 {
		t.Fatalf("HA table has %d rows:\n%s", len(rows), out)
	}
	for i, row := range rows {
		f := strings.Fields(row)
		if len(f) != 8 || f[0] != string(rune('0'+i)) || f[2] == "error" || strings.Contains(row, " - ") {
			t.Errorf("HA row %d %q: want 8 columns, a Raft state, no dash", i, row)
		}
	}
	for _, o := range z.Servers {
		if !strings.Contains(out, o.Endpoint+"\n") {
			t.Errorf("show lacks server endpoint %s", o.Endpoint)
		}
	}

	r = run(t, env, "show", "0", "-j")
	var doc struct {
		ZONE struct {
			ID          string
			SERVER_POOL struct{ SERVER []map[string]string }
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil || r.code != 0 {
		t.Fatalf("show -j: exit %d, %v:\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if doc.ZONE.ID != "0" || len(doc.ZONE.SERVER_POOL.SERVER) != 3 {
		t.Fatalf("show -j: %+v", doc)
	}
	for i, s := range doc.ZONE.SERVER_POOL.SERVER {
		for _, f := range append([]string{"ENDPOINT", "ID", "NAME"}, raftFields...) {
			if s[f] == "" || s[f] == "-" && f != "FEDLOG_INDEX" {
				t.Errorf("show -j SERVER[%d].%s = %q", i, f, s[f])
			}
		}
	}

	r = run(t, env, "show", "0", "-x")
	root, err := ParseXML(r.stdout)
	if err != nil || r.code != 0 || !strings.HasPrefix(r.stdout, "<ZONE>\n  <ID>0</ID>\n") {
		t.Fatalf("show -x: exit %d, %v:\n%s", r.code, err, r.stdout)
	}
	for _, s := range root.Child("SERVER_POOL").Elements() {
		var names []string
		for _, e := range s.Elements() {
			names = append(names, e.Name)
		}
		if got := strings.Join(names, ","); got != "ENDPOINT,ID,NAME,STATE,TERM,VOTEDFOR,COMMIT,LOG_INDEX,FEDLOG_INDEX" {
			t.Errorf("show -x SERVER elements %s", got)
		}
	}

	t.Logf("onezone show 0 -x:\n%s", r.stdout)
	r = run(t, env, "list", "-j")
	t.Logf("onezone list -j:\n%s", r.stdout)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "{\n  \"ZONE_POOL\": {\n    \"ZONE\": {\n      \"ID\": \"0\",\n") {
		t.Errorf("list -j: exit %d:\n%s", r.code, r.stdout)
	}
}
