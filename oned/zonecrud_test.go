package oned_test

import (
	"encoding/xml"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/oneha/oneha/internal/harness"
	"github.com/oneha/oneha/xmlrpc"
)

// zoneDoc is one.zone.info's XML as goca and the Ruby bindings read it.
type zoneDoc struct {
	ID       int    `xml:"ID"`
	Name     string `xml:"NAME"`
	State    int    `xml:"STATE"`
	Template struct {
		Endpoint    string `xml:"ENDPOINT"`
		Description string `xml:"DESCRIPTION"`
		Label       string `xml:"LABEL>A"`
	} `xml:"TEMPLATE"`
	Servers []struct {
		ID       int    `xml:"ID"`
		Name     string `xml:"NAME"`
		Endpoint string `xml:"ENDPOINT"`
	} `xml:"SERVER_POOL>SERVER"`
}

func zoneInfo(t *testing.T, o *harness.Oned, id int) zoneDoc {
	t.Helper()
	s, _ := call(t, o, "one.zone.info", id).(string)
	var d zoneDoc
	if err := xml.Unmarshal([]byte(s), &d); err != nil {
		t.Fatalf("zone.info %d does not parse: %v\n%s", id, err, s)
	}
	return d
}

// wantOne checks a failure's code and exact text.
func wantOne(t *testing.T, o *harness.Oned, code int, msg, method string, params ...any) {
	t.Helper()
	e := callFails(t, o, method, params...)
	if e.Code != code || e.Message != msg {
		t.Fatalf("%s%v: %#x %q; want %#x %q", method, params, e.Code, e.Message, code, msg)
	}
}

// TestOpenNebulaFidelity: what OpenNebula's clients send and expect, on a
// real two-server zone, through the follower (forwarded to the leader):
// addserver with pyone's XML template and a comma in NAME; one.system.version;
// oned's error texts and codes; one.zone.allocate/update/rename/delete with
// oned's rules, replicated; dateTime.iso8601 parameters against DATETIME.
func TestOpenNebulaFidelity(t *testing.T) {
	t.Parallel()
	z := harness.NewProcZone(t, harness.ZoneOptions{N: 2})
	z.FormFirst()
	leader := z.Leader(20 * time.Second)
	joiner := z.Servers[1]
	// pyone's XML template; the comma used to cut the name.
	call(t, leader, "one.zone.addserver", 0, fmt.Sprintf(
		`<TEMPLATE><SERVER><NAME><![CDATA[srv,1 "b"]]></NAME><ENDPOINT>%s</ENDPOINT></SERVER></TEMPLATE>`, joiner.Endpoint))
	joiner.WriteConfig(joiner.ID)
	joiner.Start()
	joiner.WaitState(2, 30*time.Second)
	f := joiner
	// The joiner catches up (snapshot or log): wait for its own copy.
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := f.Call(t.Context(), "one.zone.info", 0)
		var d zoneDoc
		if s, ok := v.(string); err == nil && ok && xml.Unmarshal([]byte(s), &d) == nil && len(d.Servers) == 2 {
			if d.Servers[1].Name != `srv,1 "b"` || d.Servers[1].Endpoint != joiner.Endpoint {
				t.Fatalf("server added from XML: %+v", d.Servers)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("joiner never showed both servers: %v, %v", v, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	if v := call(t, f, "one.system.version"); v != "6.10.0" {
		t.Fatalf("one.system.version = %v, want 6.10.0", v)
	}
	if v, _ := call(t, f, "one.system.config").(string); !strings.Contains(v, "<ONEHA_VERSION><![CDATA[0.1.0]]>") {
		t.Fatalf("one.system.config = %s, want ONEHA_VERSION", v)
	}

	// one.zone.raftstatus as goca's zone.ServerRaftStatus reads it (every
	// field an int; STATE 3 leader, 2 follower), on each SERVER's
	// ENDPOINT, as Ruby's Zone#info_extended and `onezone show` do.
	for _, o := range []*harness.Oned{leader, f} {
		var rs struct {
			ID          int `xml:"SERVER_ID"`
			StateRaw    int `xml:"STATE"`
			Term        int `xml:"TERM"`
			Votedfor    int `xml:"VOTEDFOR"`
			Commit      int `xml:"COMMIT"`
			LogIndex    int `xml:"LOG_INDEX"`
			FedlogIndex int `xml:"FEDLOG_INDEX"`
		}
		body, _ := call(t, o, "one.zone.raftstatus").(string)
		if err := xml.Unmarshal([]byte(body), &rs); err != nil {
			t.Fatalf("raftstatus of server %d does not decode as goca's ServerRaftStatus: %v\n%s", o.ID, err, body)
		}
		want := 2
		if o == leader {
			want = 3
		}
		if rs.ID != o.ID || rs.StateRaw != want || rs.Term < 1 || rs.Commit < 1 || rs.FedlogIndex != -1 {
			t.Fatalf("raftstatus of server %d: %+v\n%s", o.ID, rs, body)
		}
	}

	// oned's texts and codes.
	wantOne(t, f, xmlrpc.NoExistsError, "[one.zone.info] Error getting zone [5].", "one.zone.info", 5)
	wantOne(t, f, xmlrpc.ActionError, "[one.zone.delserver] SERVER not found in zone", "one.zone.delserver", 0, 9)
	wantOne(t, f, xmlrpc.ActionError, "[one.zone.delserver] Servers have to be deleted through the target zone endpoints", "one.zone.delserver", 3, 1)
	wantOne(t, f, xmlrpc.ActionError, "[one.zone.addserver] Servers have to be added through the target zone endpoints", "one.zone.addserver", 3, `SERVER=[NAME="x",ENDPOINT="http://x:1/RPC2"]`)
	if e := callFails(t, f, "one.zone.addserver", 0, `SERVER = [ NAME = "x"`); e.Code != xmlrpc.ActionError || !strings.HasPrefix(e.Message, "[one.zone.addserver] Parse error: ") {
		t.Fatalf("bad template: %v", e)
	}

	// allocate: IDs from 100, unique names, ENDPOINT required, NAME leaves
	// the template, SERVER is dropped.
	tmpl := "NAME = \"east\"\nENDPOINT = \"http://e:2633/RPC2\"\nLABEL = [ A = \"x,y\" ]\nSERVER = [ NAME = \"s\" ]"
	if id := call(t, f, "one.zone.allocate", tmpl); id != int64(100) {
		t.Fatalf("allocate = %v, want 100", id)
	}
	// oned 6.10: ZoneAllocate::pool_allocate answers INTERNAL with the
	// pool's text (no "Error allocating a new zone." prefix: that is
	// ALLOCATE's, sent only off the federation master).
	wantOne(t, f, xmlrpc.InternalError, "[one.zone.allocate] NAME is already taken by Zone 100.", "one.zone.allocate", tmpl)
	wantOne(t, f, xmlrpc.InternalError, "[one.zone.allocate] ENDPOINT not present in template.", "one.zone.allocate", `NAME="w"`)
	wantOne(t, f, xmlrpc.InternalError, "[one.zone.allocate] Invalid NAME, char ':' is not allowed", "one.zone.allocate", `NAME="a:b" ENDPOINT="e"`)
	wantOne(t, f, xmlrpc.InternalError, "[one.zone.allocate] Invalid NAME, it cannot be empty", "one.zone.allocate", `ENDPOINT="e"`)
	// goca's ZonesController.Create(tpl, clusterID) sends a cluster ID
	// after the template; oned ignores it for zones.
	if id := call(t, f, "one.zone.allocate", `NAME="goca" ENDPOINT="http://g:2633/RPC2"`, -1); id != int64(101) {
		t.Fatalf("allocate with goca's cluster argument = %v, want 101", id)
	}
	call(t, f, "one.zone.delete", 101)
	if e := callFails(t, f, "one.zone.allocate", `NAME="unterminated`); e.Code != xmlrpc.InternalError {
		t.Fatalf("allocate with a bad template: %v, want INTERNAL", e)
	}
	d := zoneInfo(t, leader, 100)
	if d.Name != "east" || d.Template.Endpoint != "http://e:2633/RPC2" || d.Template.Label != "x,y" || len(d.Servers) != 0 {
		t.Fatalf("allocated zone: %+v", d)
	}
	if s, _ := call(t, leader, "one.zone.info", 100).(string); strings.Contains(s, "<TEMPLATE><NAME>") || strings.Contains(s, "<TEMPLATE><SERVER>") {
		t.Fatalf("NAME or SERVER left in the template: %s", s)
	}

	// update: 1 merges, 0 replaces (ENDPOINT then "-" when missing).
	call(t, f, "one.zone.update", 100, `DESCRIPTION="d, \"q\""`, 1)
	if d := zoneInfo(t, leader, 100); d.Template.Description != `d, "q"` || d.Template.Label != "x,y" || d.Template.Endpoint != "http://e:2633/RPC2" {
		t.Fatalf("after merge: %+v", d.Template)
	}
	call(t, f, "one.zone.update", 100, `<TEMPLATE><DESCRIPTION>r</DESCRIPTION></TEMPLATE>`, 0)
	if d := zoneInfo(t, leader, 100); d.Template.Description != "r" || d.Template.Label != "" || d.Template.Endpoint != "-" {
		t.Fatalf("after replace: %+v", d.Template)
	}
	wantOne(t, f, xmlrpc.XMLRPCAPIError, "[one.zone.update] Wrong update type", "one.zone.update", 100, `A=1`, 2)
	wantOne(t, f, xmlrpc.NoExistsError, "[one.zone.update] Error getting zone [101].", "one.zone.update", 101, `A=1`, 1)
	// oned reads the zone before it checks the type.
	wantOne(t, f, xmlrpc.NoExistsError, "[one.zone.update] Error getting zone [101].", "one.zone.update", 101, `A=1`, 2)

	// rename: unique names, in oned's order: a missing zone, then the
	// same name (success), then a collision, then the name's validity.
	call(t, f, "one.zone.rename", 100, "west")
	if id := call(t, f, "one.zone.rename", 100, "west"); id != int64(100) {
		t.Fatalf("rename to the same name = %v, want 100", id)
	}
	wantOne(t, f, xmlrpc.ActionError, "[one.zone.rename] zone cannot be renamed to OpenNebula because it collides with zone 0", "one.zone.rename", 100, "OpenNebula")
	wantOne(t, f, xmlrpc.ActionError, "[one.zone.rename] Invalid NAME, char ':' is not allowed", "one.zone.rename", 100, "a:b")
	wantOne(t, f, xmlrpc.NoExistsError, "[one.zone.rename] Error getting zone [101].", "one.zone.rename", 101, "OpenNebula")
	wantOne(t, f, xmlrpc.NoExistsError, "[one.zone.rename] Error getting zone [101].", "one.zone.rename", 101, "a:b")
	if d := zoneInfo(t, leader, 100); d.Name != "west" {
		t.Fatalf("renamed zone on the leader: %+v", d)
	}
	// Replicated: the follower's own copy (a stale read) catches up.
	for deadline := time.Now().Add(20 * time.Second); ; {
		v, err := f.Call(t.Context(), "one.zone.info", 100)
		var d zoneDoc
		if s, ok := v.(string); err == nil && ok && xml.Unmarshal([]byte(s), &d) == nil && d.Name == "west" && d.Template.Description == "r" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("follower never showed the renamed, updated zone: %v, %v", v, err)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// delete: system zones stay.
	wantOne(t, f, xmlrpc.ActionError, "[one.zone.delete] Cannot delete zone. System Zones (ID < 100) cannot be deleted.", "one.zone.delete", 0)
	if id := call(t, f, "one.zone.delete", 100); id != int64(100) {
		t.Fatalf("delete = %v, want 100", id)
	}
	wantOne(t, leader, xmlrpc.NoExistsError, "[one.zone.info] Error getting zone [100].", "one.zone.info", 100)
	wantOne(t, f, xmlrpc.NoExistsError, "[one.zone.delete] Error getting zone [100].", "one.zone.delete", 100)
	// Clients cannot write the template table.
	if e := callFails(t, f, "one.sql.exec", []any{"DELETE FROM oneha_zone_template"}); !strings.Contains(e.Message, "OneHA's own table") {
		t.Fatalf("client write of oneha_zone_template: %v", e)
	}

	// dateTime.iso8601 parameters compare with DATETIME columns.
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	call(t, f, "one.sql.exec", []any{"CREATE TABLE ev (id INT PRIMARY KEY, at DATETIME)"})
	call(t, f, "one.sql.exec", []any{[]any{"INSERT INTO ev VALUES (1, ?)", when}, "INSERT INTO ev VALUES (2, '2025-06-01 12:00:00')"})
	v := call(t, f, "one.sql.query", "SELECT id, at FROM ev WHERE at >= ?", []any{when}, "strong")
	rows := v.(map[string]any)["ROWS"].([]any)
	if len(rows) != 1 || rows[0].([]any)[0] != int64(1) || rows[0].([]any)[1] != "2026-01-01 00:00:00" {
		t.Fatalf("rows at >= %v: %v, want [[1 2026-01-01 00:00:00]]", when, rows)
	}
}
