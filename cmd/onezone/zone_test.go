package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// zoneXML builds a ZONE document the way oned writes it.
func zoneDoc(id int, name string, state int, servers ...Server) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<ZONE><ID>%d</ID><NAME>%s</NAME><STATE>%d</STATE>", id, name, state)
	b.WriteString("<TEMPLATE><ENDPOINT><![CDATA[http://localhost:2633/RPC2]]></ENDPOINT></TEMPLATE><SERVER_POOL>")
	for _, s := range servers {
		fmt.Fprintf(&b, "<SERVER><ENDPOINT><![CDATA[%s]]></ENDPOINT><ID>%d</ID><NAME><![CDATA[%s]]></NAME></SERVER>", s.Endpoint, s.ID, s.Name)
	}
	b.WriteString("</SERVER_POOL></ZONE>")
	return b.String()
}

func raftDoc(serverID, state, term, vote, commit, index, logTerm, fed int64) string {
	return fmt.Sprintf("<RAFT><SERVER_ID>%d</SERVER_ID><STATE>%d</STATE><TERM>%d</TERM><VOTEDFOR>%d</VOTEDFOR>"+
		"<COMMIT>%d</COMMIT><LOG_INDEX>%d</LOG_INDEX><LOG_TERM>%d</LOG_TERM><FEDLOG_INDEX>%d</FEDLOG_INDEX></RAFT>",
		serverID, state, term, vote, commit, index, logTerm, fed)
}

func seedServers(n int) []Server {
	var out []Server
	for i := range n {
		out = append(out, Server{ID: i, Name: fmt.Sprintf("vmm0%d.devservers.network", i+1), Endpoint: fmt.Sprintf("http://10.0.1.%d0:2633/RPC2", i+1)})
	}
	return out
}

// renderShow is show's text for a ZONE document and its servers' status.
func renderShow(t *testing.T, zoneXML string, status []ServerStatus) string {
	t.Helper()
	root, err := ParseXML(zoneXML)
	if err != nil {
		t.Fatal(err)
	}
	ExtendZone(root, status)
	return RenderShow(root, status, false)
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s\n--- got ---\n%s--- want ---\n%s", path, got, want)
	}
}

// collapse turns our output into what the seed (a web page) shows: runs of
// blanks collapsed, leading blanks dropped, the STATE line (absent from
// OpenNebula 5.6's output) removed, runs of empty lines as one.
func collapse(s string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		l = strings.Join(strings.Fields(l), " ")
		if strings.HasPrefix(l, "STATE : ") || l == "" && len(out) > 0 && out[len(out)-1] == "" {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n") + "\n"
}

func TestRenderShow(t *testing.T) {
	errDown := errors.New("connection refused")
	refServers := []Server{
		{ID: 0, Name: "server-0", Endpoint: "http://192.168.150.1:2633/RPC2"},
		{ID: 1, Name: "server-1", Endpoint: "http://192.168.150.2:2633/RPC2"},
	}
	tests := []struct {
		name   string
		zone   string
		raft   []string // per server; "" = unreachable
		golden string
		seed   string // the seed's whitespace-collapsed text, when it has this case
	}{
		{
			name:   "reference",
			zone:   zoneDoc(0, "OpenNebula", 0, refServers...),
			raft:   []string{raftDoc(0, 3, 1, -1, 19, 21, 1, -1), ""},
			golden: "reference_show.golden",
		},
		{
			name: "seed five servers",
			zone: zoneDoc(0, "DevserversNetwork Zone", 0, seedServers(5)...),
			raft: []string{
				raftDoc(0, 2, 3, 1, 477, 477, 3, -1),
				raftDoc(1, 3, 3, 1, 477, 477, 3, -1),
				raftDoc(2, 2, 3, 1, 477, 477, 3, -1),
				raftDoc(3, 2, 3, -1, 477, 477, 3, -1),
				raftDoc(4, 2, 3, -1, 283, 283, 3, -1),
			},
			golden: "seed_show.golden",
			seed:   "seed_show_collapsed.txt",
		},
		{
			name:   "seed new server not started",
			zone:   zoneDoc(0, "DevserversNetwork Zone", 0, seedServers(2)...),
			raft:   []string{raftDoc(0, 3, 1, 0, 372, 376, 1, -1), ""},
			golden: "seed_error_show.golden",
			seed:   "seed_error_collapsed.txt",
		},
		{
			name:   "solo, disabled",
			zone:   zoneDoc(0, "OpenNebula", 1, seedServers(1)...),
			raft:   []string{raftDoc(-1, 0, 0, -1, 0, -1, -1, -1)},
			golden: "solo_show.golden",
		},
		{
			name:   "no servers",
			zone:   zoneDoc(3, "Empty", 0),
			golden: "empty_show.golden",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			z, err := ParseZone(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			byEndpoint := map[string]string{}
			for i, s := range z.Servers {
				byEndpoint[s.Endpoint] = tc.raft[i]
			}
			status := FetchStatus(context.Background(), z.Servers, time.Second, func(_ context.Context, ep string) (string, error) {
				if doc := byEndpoint[ep]; doc != "" {
					return doc, nil
				}
				return "", errDown
			})
			got := renderShow(t, tc.zone, status)
			golden(t, tc.golden, got)
			if tc.seed != "" {
				want, err := os.ReadFile(filepath.Join("testdata", tc.seed))
				if err != nil {
					t.Fatal(err)
				}
				if c, w := collapse(got), collapse(string(want)); c != w {
					t.Errorf("collapsed output differs from the seed\n--- got ---\n%s--- seed ---\n%s", c, w)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		fn   func() error
	}{
		{"zone not XML", func() error { _, err := ParseZone("nope"); return err }},
		{"zone wrong root", func() error { _, err := ParseZone("<RAFT/>"); return err }},
		{"zone bad id", func() error { _, err := ParseZone("<ZONE><ID>x</ID></ZONE>"); return err }},
		{"server bad id", func() error {
			_, err := ParseZone("<ZONE><ID>0</ID><SERVER_POOL><SERVER><ID/></SERVER></SERVER_POOL></ZONE>")
			return err
		}},
		{"pool wrong root", func() error { _, err := ParseZonePool("<ZONE/>"); return err }},
		{"raft bad number", func() error { _, err := ParseRaft("<RAFT><TERM>x</TERM></RAFT>"); return err }},
	}
	for _, tc := range tests {
		if err := tc.fn(); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestTemplateString(t *testing.T) {
	doc := `<ZONE><ID>0</ID><NAME>z</NAME><TEMPLATE><ENDPOINT>http://x:2633/RPC2</ENDPOINT>` +
		`<DESCRIPTION>say "hi"</DESCRIPTION><VEC><A>1</A><B>2</B></VEC></TEMPLATE></ZONE>`
	z, err := ParseZone(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := "ENDPOINT=\"http://x:2633/RPC2\"\nDESCRIPTION=\"say \\\"hi\\\"\"\nVEC=[\n  A=\"1\",\n  B=\"2\" ]\n"
	root, err := ParseXML(doc)
	if err != nil {
		t.Fatal(err)
	}
	_ = z
	if got := TemplateString(root.Child("TEMPLATE")) + "\n"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestFetchStatusConcurrent: one slow server does not delay the others
// beyond the timeout, and its row is an error.
func TestFetchStatusConcurrent(t *testing.T) {
	servers := seedServers(4)
	var calls atomic.Int32
	start := time.Now()
	status := FetchStatus(context.Background(), servers, 300*time.Millisecond, func(ctx context.Context, ep string) (string, error) {
		calls.Add(1)
		if ep == servers[2].Endpoint {
			<-ctx.Done()
			return "", ctx.Err()
		}
		return raftDoc(0, 2, 1, 0, 5, 5, 1, -1), nil
	})
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v: calls are not concurrent or not bounded", d)
	}
	if calls.Load() != 4 {
		t.Errorf("%d calls, want 4", calls.Load())
	}
	for i, s := range status {
		if (s.Raft == nil) != (i == 2) || s.ID != i {
			t.Errorf("status[%d] = %+v", i, s)
		}
	}
	if !errors.Is(status[2].Err, context.DeadlineExceeded) {
		t.Errorf("status[2].Err = %v, want deadline exceeded", status[2].Err)
	}
}

// TestShowWarnsAboutInsecureRaft: a server reporting INSECURE_RAFT in its
// RAFT document makes show print a WARNING line naming it; the rest of the
// output is OpenNebula's.
func TestShowWarnsAboutInsecureRaft(t *testing.T) {
	servers := []Server{{ID: 0, Name: "a", Endpoint: "http://10.0.0.1:2633/RPC2"}, {ID: 1, Name: "b", Endpoint: "http://10.0.0.2:2633/RPC2"}}
	z, err := ParseZone(zoneDoc(0, "OpenNebula", 0, servers...))
	if err != nil {
		t.Fatal(err)
	}
	secure := raftDoc(0, 3, 1, -1, 19, 21, 1, -1)
	insecure := strings.Replace(raftDoc(1, 2, 1, -1, 19, 21, 1, -1), "</RAFT>", "<INSECURE_RAFT>true</INSECURE_RAFT></RAFT>", 1)
	docs := map[string]string{servers[0].Endpoint: secure, servers[1].Endpoint: insecure}
	fetch := func(_ context.Context, ep string) (string, error) { return docs[ep], nil }
	got := renderShow(t, zoneDoc(0, "OpenNebula", 0, servers...), FetchStatus(context.Background(), z.Servers, time.Second, fetch))
	if !strings.Contains(got, "WARNING: INSECURE_RAFT on server(s) 1:") {
		t.Fatalf("no warning naming server 1:\n%s", got)
	}
	docs[servers[1].Endpoint] = raftDoc(1, 2, 1, -1, 19, 21, 1, -1)
	if got := renderShow(t, zoneDoc(0, "OpenNebula", 0, servers...), FetchStatus(context.Background(), z.Servers, time.Second, fetch)); strings.Contains(got, "WARNING") {
		t.Fatalf("warning without an insecure server:\n%s", got)
	}
}

// TestShowNamesDivergedServers: the leader's DIVERGED elements become one
// line each after the HA table; without them the output is unchanged.
func TestShowNamesDivergedServers(t *testing.T) {
	servers := []Server{{ID: 0, Name: "a", Endpoint: "http://10.0.0.1:2633/RPC2"}, {ID: 2, Name: "b", Endpoint: "http://10.0.0.2:2633/RPC2"}}
	z, err := ParseZone(zoneDoc(0, "OpenNebula", 0, servers...))
	if err != nil {
		t.Fatal(err)
	}
	plain := raftDoc(0, 3, 1, -1, 19, 21, 1, -1)
	leader := strings.Replace(plain, "</RAFT>", "<DIVERGED><SERVER_ID>2</SERVER_ID><INDEX>12000</INDEX><TABLE>vm_pool</TABLE></DIVERGED>"+
		"<DIVERGED><SERVER_ID>3</SERVER_ID><INDEX>12017</INDEX></DIVERGED></RAFT>", 1)
	docs := map[string]string{servers[0].Endpoint: leader, servers[1].Endpoint: raftDoc(2, 2, 1, -1, 19, 21, 1, -1)}
	fetch := func(_ context.Context, ep string) (string, error) { return docs[ep], nil }
	got := renderShow(t, zoneDoc(0, "OpenNebula", 0, servers...), FetchStatus(context.Background(), z.Servers, time.Second, fetch))
	for _, want := range []string{"DIVERGED: server 2 at index 12000: table vm_pool differs\n", "DIVERGED: server 3 at index 12017: the entry's outcome differs\n"} {
		if !strings.Contains(got, want) {
			t.Fatalf("show lacks %q:\n%s", want, got)
		}
	}
	docs[servers[0].Endpoint] = plain
	if got := renderShow(t, zoneDoc(0, "OpenNebula", 0, servers...), FetchStatus(context.Background(), z.Servers, time.Second, fetch)); strings.Contains(got, "DIVERGED") {
		t.Fatalf("DIVERGED line without a divergence:\n%s", got)
	}
}

// TestShowFlagsDegradedAndNotPromotedServers: a server whose RAFT document
// says DEGRADED (apply failing or stalled), the leader's NOT_PROMOTED
// joiners (DB settings that differ) and its DEAD voters (dead-server
// cleanup) get one line each after the HA table;
// healthy documents add nothing.
func TestShowFlagsDegradedAndNotPromotedServers(t *testing.T) {
	servers := []Server{{ID: 0, Name: "a", Endpoint: "http://10.0.0.1:2633/RPC2"}, {ID: 2, Name: "b", Endpoint: "http://10.0.0.2:2633/RPC2"}}
	z, err := ParseZone(zoneDoc(0, "OpenNebula", 0, servers...))
	if err != nil {
		t.Fatal(err)
	}
	plainLeader, plainFollower := raftDoc(0, 3, 1, -1, 19, 21, 1, -1), raftDoc(2, 2, 1, -1, 19, 21, 1, -1)
	docs := map[string]string{
		servers[0].Endpoint: strings.Replace(plainLeader, "</RAFT>", "<NOT_PROMOTED><SERVER_ID>3</SERVER_ID><REASON>character_set_server: utf8mb4 here, latin1 there</REASON></NOT_PROMOTED>"+
			"<DEAD><SERVER_ID>4</SERVER_ID><REMOVED>true</REMOVED><REASON>unreachable since 2026-01-02T03:04:05Z: removed from the voters</REASON></DEAD></RAFT>", 1),
		servers[1].Endpoint: strings.Replace(plainFollower, "</RAFT>", "<DEGRADED>apply stalled: entries 20-21 running for 12s</DEGRADED></RAFT>", 1),
	}
	fetch := func(_ context.Context, ep string) (string, error) { return docs[ep], nil }
	got := renderShow(t, zoneDoc(0, "OpenNebula", 0, servers...), FetchStatus(context.Background(), z.Servers, time.Second, fetch))
	for _, want := range []string{"DEGRADED: server 2: apply stalled: entries 20-21 running for 12s\n",
		"NOT PROMOTED: server 3: character_set_server: utf8mb4 here, latin1 there\n",
		"DEAD: server 4: unreachable since 2026-01-02T03:04:05Z: removed from the voters\n"} {
		if !strings.Contains(got, want) {
			t.Fatalf("show lacks %q:\n%s", want, got)
		}
	}
	docs[servers[0].Endpoint], docs[servers[1].Endpoint] = plainLeader, plainFollower
	if got := renderShow(t, zoneDoc(0, "OpenNebula", 0, servers...), FetchStatus(context.Background(), z.Servers, time.Second, fetch)); strings.Contains(got, "DEGRADED") || strings.Contains(got, "NOT PROMOTED") || strings.Contains(got, "DEAD") {
		t.Fatalf("health lines without a problem:\n%s", got)
	}
}

// TestShowMarksLaggingFollowers: from the leader's FOLLOWER elements, show
// marks a non-voter, a follower beyond LOG_RETENTION and a stale one; a
// follower the leader does not list is marked stale from its own report;
// a healthy zone gets no mark.
func TestShowMarksLaggingFollowers(t *testing.T) {
	leaderDoc := `<RAFT><SERVER_ID>0</SERVER_ID><STATE>3</STATE><TERM>4</TERM><VOTEDFOR>0</VOTEDFOR><COMMIT>300100</COMMIT>
<LOG_INDEX>300100</LOG_INDEX><LOG_TERM>4</LOG_TERM><FEDLOG_INDEX>-1</FEDLOG_INDEX><LOG_RETENTION>250000</LOG_RETENTION>
<FOLLOWER><SERVER_ID>1</SERVER_ID><VOTER>true</VOTER><LAG>0</LAG><LAST_CONTACT_MS>0</LAST_CONTACT_MS><STALE>false</STALE></FOLLOWER>
<FOLLOWER><SERVER_ID>2</SERVER_ID><VOTER>true</VOTER><LAG>300000</LAG><LAST_CONTACT_MS>12300</LAST_CONTACT_MS><STALE>true</STALE></FOLLOWER>
<FOLLOWER><SERVER_ID>3</SERVER_ID><VOTER>false</VOTER><LAG>10</LAG><LAST_CONTACT_MS>0</LAST_CONTACT_MS><STALE>false</STALE></FOLLOWER>
</RAFT>`
	lr, err := ParseRaft(leaderDoc)
	if err != nil {
		t.Fatal(err)
	}
	ms := int64(4000)
	lonely := &Raft{ServerID: 4, State: 2, LastContactMS: &ms, StaleContact: true}
	z := Zone{ID: 0, Name: "OpenNebula", Servers: []Server{{ID: 0, Name: "a"}, {ID: 1, Name: "b"}, {ID: 2, Name: "c"}, {ID: 3, Name: "d"}, {ID: 4, Name: "e"}}}
	status := []ServerStatus{{Server: z.Servers[0], Raft: &lr}, {Server: z.Servers[1], Raft: &Raft{State: 2}},
		{Server: z.Servers[2], Err: fmt.Errorf("down")}, {Server: z.Servers[3], Raft: &Raft{State: 2}}, {Server: z.Servers[4], Raft: lonely}}
	out := renderShow(t, zoneDoc(0, "OpenNebula", 0, z.Servers...), status)
	for _, want := range []string{
		"NON-VOTER: server 3: receives the log but does not vote",
		"BEHIND: server 2: 300000 entries behind the leader's commit, more than LOG_RETENTION (250000)",
		"STALE: server 2: no contact with the leader for 12.3s",
		"STALE: server 4: has not heard from a leader for 4s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "server 1:") {
		t.Errorf("healthy follower 1 marked:\n%s", out)
	}
	healthy := `<RAFT><SERVER_ID>0</SERVER_ID><STATE>3</STATE><LOG_RETENTION>250000</LOG_RETENTION>
<FOLLOWER><SERVER_ID>1</SERVER_ID><VOTER>true</VOTER><LAG>3</LAG><LAST_CONTACT_MS>0</LAST_CONTACT_MS><STALE>false</STALE></FOLLOWER></RAFT>`
	hr, _ := ParseRaft(healthy)
	if got := lagLines([]ServerStatus{{Server: z.Servers[0], Raft: &hr}, {Server: z.Servers[1], Raft: &Raft{State: 2}}}); got != "" {
		t.Errorf("healthy zone marked: %q", got)
	}
}

// TestFederationLines: a slave says how far behind the master it is, a
// master where each slave zone is; a standalone zone, or another zone
// than the queried server's, prints nothing.
func TestFederationLines(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	slave := &FedStatus{Mode: "SLAVE", ZoneID: 100, FedLogIndex: 185, MasterOned: "http://m:2633/RPC2", MasterIndex: i(190), Behind: i(5)}
	if got, want := FederationLines(slave, 100), "FEDERATION: SLAVE of http://m:2633/RPC2, at index 185, master at 190 (5 behind)\n"; got != want {
		t.Fatalf("slave:\n%q\nwant\n%q", got, want)
	}
	slave.MasterIndex, slave.Behind = i(-1), nil
	if got := FederationLines(slave, 100); !strings.Contains(got, "master unreachable") {
		t.Fatalf("slave without its master: %q", got)
	}
	master := &FedStatus{Mode: "MASTER", ZoneID: 0, FedLogIndex: 190}
	master.Zones = append(master.Zones, struct {
		ID     int    `xml:"ID"`
		Acked  int64  `xml:"ACKED"`
		Behind int64  `xml:"BEHIND"`
		Error  string `xml:"ERROR"`
	}{ID: 100, Acked: 188, Behind: 2, Error: "dial tcp: refused"})
	if got, want := FederationLines(master, 0), "FEDERATION: MASTER at index 190; zone 100 at 188 (2 behind) failing: dial tcp: refused\n"; got != want {
		t.Fatalf("master:\n%q\nwant\n%q", got, want)
	}
	for _, st := range []*FedStatus{nil, {Mode: "STANDALONE"}} {
		if got := FederationLines(st, 0); got != "" {
			t.Fatalf("%+v printed %q", st, got)
		}
	}
	if got := FederationLines(master, 100); got != "" {
		t.Fatalf("the master's lines under zone 100: %q", got)
	}
}
