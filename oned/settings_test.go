package oned_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// TestJoinerWithDifferentServerSettingsIsNotPromoted: a joining server whose
// MariaDB has another server character set (so CREATE TABLE would make
// different tables there) catches up as a non-voter but is never promoted;
// the leader names the setting in one.zone.members, /status and its log.
func TestJoinerWithDifferentServerSettingsIsNotPromoted(t *testing.T) {
	t.Parallel()
	other := harness.StartMariaDB(t, harness.WithServerArgs("--character-set-server=utf8mb4", "--collation-server=utf8mb4_unicode_ci"))
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 2, Dialect: sqlcheck.MySQL, MariaDBFor: func(i int) *harness.MariaDB {
		if i == 1 {
			return other
		}
		return nil
	}})
	z.FormFirst()
	leader := z.Servers[0]
	call(t, leader, "one.sql.exec", []any{"CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(16))"})
	z.AddServer(z.Servers[1])

	deadline := time.Now().Add(60 * time.Second)
	var reason string
	for reason == "" {
		if time.Now().After(deadline) {
			t.Fatalf("the leader never reported why server 1 is not promoted:\n%s", leader.LogTail(30))
		}
		v, err := leader.Call(context.Background(), "one.zone.members")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range v.([]any) {
			m := m.(map[string]any)
			if m["ID"] == int64(1) {
				if m["VOTER"] == true {
					t.Fatalf("server 1 was promoted with other database settings: %v", m)
				}
				reason, _ = m["NOT_PROMOTED"].(string)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(reason, "character_set_server") || !strings.Contains(reason, "utf8mb4") {
		t.Fatalf("reason %q does not name the differing setting", reason)
	}
	var st struct {
		Settings map[string]string `json:"DB_SETTINGS"`
		Mismatch map[string]string `json:"DB_SETTINGS_MISMATCH"`
	}
	if err := json.Unmarshal([]byte(httpGet(t, z, leader, "/status")), &st); err != nil {
		t.Fatal(err)
	}
	// Its apply semantics are part of the fingerprint: a build that would
	// apply the same entries differently is not promoted either.
	if st.Settings["version"] == "" || st.Settings[sqlfsm.ApplySemanticsKey] != strconv.Itoa(sqlfsm.ApplySemantics) ||
		!strings.Contains(st.Mismatch["1"], "character_set_server") {
		t.Fatalf("leader /status DB_SETTINGS = %v, DB_SETTINGS_MISMATCH = %v", st.Settings, st.Mismatch)
	}
	if !strings.Contains(leader.LogTail(200), "not promoted") {
		t.Fatalf("the leader's log does not say why:\n%s", leader.LogTail(30))
	}
	cmd := exec.Command(filepath.Join(z.Bin, "onezone"), "show", "0")
	cmd.Env = append(os.Environ(), "ONE_AUTH="+z.Auth, "ONE_XMLRPC="+leader.Endpoint)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("onezone show: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "NOT PROMOTED: server 1: ") || !strings.Contains(string(out), "character_set_server") {
		t.Fatalf("onezone show does not flag the mismatch:\n%s", out)
	}
}
