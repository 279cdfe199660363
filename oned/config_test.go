package oned

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseConfigMinimal(t *testing.T) {
	c, err := ParseConfig([]byte("PORT: 2634\nDATA_DIR: /tmp/x\nFEDERATION: {SERVER_ID: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 2634 || c.DataDir != "/tmp/x" || c.Federation.ServerID != 0 || c.Dialect() != "sqlite" || c.Solo() {
		t.Fatalf("parsed %+v", c)
	}
	r := c.RaftNodeConfig()
	if r.ID != "0" || r.ElectionTimeout != 500*time.Millisecond || r.TrailingLogs != 250000 {
		t.Fatalf("raft config %+v", r)
	}
}

func TestParseConfigFull(t *testing.T) {
	c, err := ParseConfig([]byte(`
LISTEN_ADDRESS: 198.18.0.1
PORT: 2633
DATA_DIR: /var/lib/one/oneha
ONE_AUTH: /var/lib/one/.one/one_auth
DB: {BACKEND: mysql, SERVER: db1, PORT: 3307, USER: oneadmin, PASSWD: "p@ss:w/rd", DB_NAME: opennebula, CONNECTIONS: 50}
FEDERATION: {MODE: STANDALONE, ZONE_ID: 0, SERVER_ID: 2, MASTER_ONED: ""}
RAFT: {ELECTION_TIMEOUT_MS: 1000, BROADCAST_TIMEOUT_MS: 300, XMLRPC_TIMEOUT_MS: 2000, LOG_RETENTION: 500000, LOG_PURGE_TIMEOUT: 600, LIMIT_PURGE: 50000}
RAFT_LEADER_HOOK: {COMMAND: raft/vip.sh, ARGUMENTS: leader eth0 10.0.1.100/24}
RAFT_FOLLOWER_HOOK: {COMMAND: raft/vip.sh, ARGUMENTS: follower eth0 10.0.1.100/24}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Dialect() != "mysql" || c.MySQLDSN() != "oneadmin:p@ss:w/rd@tcp(db1:3307)/opennebula" {
		t.Fatalf("DSN %q", c.MySQLDSN())
	}
	if c.Audit != (AuditConfig{Interval: 10000}) {
		t.Fatalf("AUDIT defaults %+v, want INTERVAL 10000 without AUTO_REPAIR", c.Audit)
	}
	if c.LeaderHook.Arguments != "leader eth0 10.0.1.100/24" || c.XMLRPCTimeout() != 2*time.Second {
		t.Fatalf("parsed %+v", c)
	}
}

// TestParseConfigDeadServerCleanup: off by default with MIN_QUORUM 3;
// both keys parse.
func TestParseConfigDeadServerCleanup(t *testing.T) {
	if d := DefaultConfig().Raft; d.DeadServerTimeoutS != 0 || d.MinQuorum != 3 {
		t.Fatalf("defaults DEAD_SERVER_TIMEOUT_S %d MIN_QUORUM %d, want 0 (off) and 3", d.DeadServerTimeoutS, d.MinQuorum)
	}
	c, err := ParseConfig([]byte("RAFT: {DEAD_SERVER_TIMEOUT_S: 30, MIN_QUORUM: 5}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Raft.DeadServerTimeoutS != 30 || c.Raft.MinQuorum != 5 {
		t.Fatalf("parsed %+v", c.Raft)
	}
}

// TestParseConfigFastFailover: on by default; FAST_FAILOVER: no turns the
// raft node's death watch off.
func TestParseConfigFastFailover(t *testing.T) {
	if !DefaultConfig().RaftNodeConfig().DeathWatch {
		t.Fatal("FAST_FAILOVER is off by default")
	}
	c, err := ParseConfig([]byte("RAFT: {FAST_FAILOVER: no}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.RaftNodeConfig().DeathWatch {
		t.Fatal("FAST_FAILOVER: no left the death watch on")
	}
}

// COMMIT_TIMEOUT_MS reaches Raft (default 50 ms), and a value under 5 ms
// or above ELECTION_TIMEOUT_MS is refused naming the key.
func TestParseConfigCommitTimeout(t *testing.T) {
	if got := DefaultConfig().RaftNodeConfig().CommitTimeout; got != 50*time.Millisecond {
		t.Fatalf("default commit timeout %v, want 50ms", got)
	}
	c, err := ParseConfig([]byte("RAFT: {COMMIT_TIMEOUT_MS: 5}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.RaftNodeConfig().CommitTimeout; got != 5*time.Millisecond {
		t.Fatalf("COMMIT_TIMEOUT_MS: 5 gave %v", got)
	}
	for _, bad := range []string{"RAFT: {COMMIT_TIMEOUT_MS: 4}\n", "RAFT: {ELECTION_TIMEOUT_MS: 500, COMMIT_TIMEOUT_MS: 501}\n"} {
		if _, err := ParseConfig([]byte(bad)); err == nil || !strings.Contains(err.Error(), "RAFT.COMMIT_TIMEOUT_MS") {
			t.Errorf("%q: %v, want an error naming RAFT.COMMIT_TIMEOUT_MS", bad, err)
		}
	}
}

func TestParseConfigAudit(t *testing.T) {
	c, err := ParseConfig([]byte("AUDIT: {INTERVAL: 0, AUTO_REPAIR: true}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Audit != (AuditConfig{Interval: 0, AutoRepair: true}) {
		t.Fatalf("AUDIT parsed as %+v", c.Audit)
	}
}

func TestParseConfigRequestID(t *testing.T) {
	c, err := ParseConfig([]byte("PORT: 2633\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.RequestID != (RequestIDConfig{WindowS: 86400, Max: 100000}) {
		t.Fatalf("REQUEST_ID defaults %+v, want 24 h and 100000", c.RequestID)
	}
	c, err = ParseConfig([]byte("REQUEST_ID: {WINDOW_S: 600, MAX: 5000}\n"))
	if err != nil || c.RequestID != (RequestIDConfig{WindowS: 600, Max: 5000}) {
		t.Fatalf("REQUEST_ID parsed as %+v, %v", c.RequestID, err)
	}
}

func TestParseConfigErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		yaml, key string
	}{
		{"REQUEST_ID: {WINDOW_S: 0}", "REQUEST_ID.WINDOW_S"},
		{"REQUEST_ID: {MAX: 0}", "REQUEST_ID.MAX"},
		{"REQUEST_ID: {MAX: 10000001}", "REQUEST_ID.MAX"},
		{"PROT: 1", "PROT"},
		{"DB: {TLS: {CA: /x}}", "DB.TLS"},
		{"DB: {BACKEND: mysql, TLS: {CERT: /c}}", "DB.TLS.KEY"},
		{"DB: {BACKEND: mysql, TLS: {SKIP_VERIFY: maybe}}", "DB.TLS.SKIP_VERIFY"},
		{"DB: {BACKEND: mysql, TLS: {SKIP_VERIFY: true, CA: /x}}", "DB.TLS.SKIP_VERIFY"},
		{"DB: {BACKEND: mysql, TLS: {CAS: /x}}", "DB.TLS.CAS"},
		{"TIMEOUT: 0", "TIMEOUT"},
		{"KEEPALIVE_TIMEOUT: -1", "KEEPALIVE_TIMEOUT"},
		{"AUDIT: {INTERVAL: -1}", "AUDIT.INTERVAL"},
		{"AUDIT: {INTERVAL: often}", "AUDIT.INTERVAL"},
		{"AUDIT: {AUTO_REPAIR: perhaps}", "AUDIT.AUTO_REPAIR"},
		{"AUDIT: {EVERY: 5}", "AUDIT.EVERY"},
		{"PORT: abc", "PORT"},
		{"PORT: 70000", "PORT"},
		{"DB: {BACKEND: oracle}", "DB.BACKEND"},
		{"DB: {NAME: x}", "DB.NAME"},
		{"DB: mysql", "DB"},
		{"RAFT: {ELECTION_TIMEOUT_MS: -5}", "RAFT.ELECTION_TIMEOUT_MS"},
		{"RAFT: {DEAD_SERVER_TIMEOUT_S: -1}", "RAFT.DEAD_SERVER_TIMEOUT_S"},
		{"RAFT: {DEAD_SERVER_TIMEOUT_S: 9999999999}", "RAFT.DEAD_SERVER_TIMEOUT_S"},
		{"RAFT: {MIN_QUORUM: 0}", "RAFT.MIN_QUORUM"},
		{"RAFT: {ELECTION_TIMEOUT_MS: [1, 2]}", "RAFT.ELECTION_TIMEOUT_MS"},
		{"FEDERATION: {SERVER_ID: -2}", "FEDERATION.SERVER_ID"},
		{"FEDERATION: {MODE: MASTER}", "FEDERATION.MODE"},
		{"PORT: 1\nPORT: 2", "PORT"},
		{"LOG_LEVEL: loud", "LOG_LEVEL"},
		{"RAFT_LEADER_HOOK: {CMD: x}", "RAFT_LEADER_HOOK.CMD"},
		{"TLS: {CERT: /a.crt}", "TLS.CERT"},
		{"TLS: {CERT: /a.crt, KEY: /a.key}", "TLS.CA"},
		{"TLS: {LEAF_TTL_S: 1}", "TLS.LEAF_TTL_S"},
		{"TLS: {RELOAD_S: 0}", "TLS.RELOAD_S"},
		{"TLS: {CRT: x}", "TLS.CRT"},
		{"INSECURE_RAFT: yes please", "INSECURE_RAFT"},
		{"API_TLS: {KEY: /a.key}", "API_TLS.CERT"},
		{"API_TLS: {PLAIN_HTTP: false}", "API_TLS.PLAIN_HTTP"},
		{"[1, 2]", ""},
		{"PORT: [", ""},
	}
	for _, tt := range tests {
		t.Run(tt.yaml, func(t *testing.T) {
			_, err := ParseConfig([]byte(tt.yaml))
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			if tt.key != "" && !strings.Contains(err.Error(), tt.key+":") {
				t.Fatalf("error %q does not name %s", err, tt.key)
			}
		})
	}
}

func TestParseConfigEmptyIsDefaults(t *testing.T) {
	c, err := ParseConfig(nil)
	if err != nil || c.Port != 2633 || !c.Solo() {
		t.Fatalf("%+v %v", c, err)
	}
}

func TestParseConfigVIP(t *testing.T) {
	c, err := ParseConfig([]byte("VIP:\n  - {INTERFACE: eth0, ADDRESS: 198.18.7.100/24}\n  - INTERFACE: eth1\n    ADDRESS: fd00:198:18::100/64\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.VIP) != 2 || c.VIP[1].Interface != "eth1" || c.VIP[0].Address != "198.18.7.100/24" {
		t.Fatalf("VIP = %+v", c.VIP)
	}
	for yaml, key := range map[string]string{
		"VIP: {INTERFACE: eth0}":                       "VIP:",
		"VIP: [{INTERFACE: eth0, ADDRESS: 10.0.1.1}]":  "VIP[0].ADDRESS",
		"VIP: [{ADDRESS: 198.18.7.1/24}]":              "VIP[0].INTERFACE",
		"VIP: [{INTERFACE: eth0, ADDRES: 1.2.3.4/24}]": "VIP[0].ADDRES",
	} {
		if _, err := ParseConfig([]byte(yaml)); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: err %v does not name %s", yaml, err, key)
		}
	}
}

// TestExampleConfigsParse: every example shipped in deploy/examples loads.
func TestExampleConfigsParse(t *testing.T) {
	files, err := filepath.Glob("../deploy/examples/zone-*/host-*.yaml")
	if err != nil || len(files) != 8 {
		t.Fatalf("example configs: %v %v", files, err)
	}
	for i, f := range files {
		c, err := LoadConfig(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if c.Dialect() != "mysql" || len(c.VIP) != 1 || c.Solo() {
			t.Errorf("%s (%d): %+v", f, i, c)
		}
	}
}

// TestParseConfigTLSDefaults: the zone CA lives beside ONE_AUTH unless
// TLS.CA / TLS.CA_KEY say otherwise; Raft is mutual TLS unless
// INSECURE_RAFT, and plain HTTP stays on for the API.
func TestParseConfigTLSDefaults(t *testing.T) {
	c, err := ParseConfig([]byte("ONE_AUTH: /etc/one/auth/one_auth\n"))
	if err != nil {
		t.Fatal(err)
	}
	if crt, key := c.ZoneCAPaths(); crt != "/etc/one/auth/zone-ca.crt" || key != "/etc/one/auth/zone-ca.key" {
		t.Fatalf("zone CA paths %s %s", crt, key)
	}
	if c.InsecureRaft || !c.APITLS.PlainHTTP || c.TLS.LeafTTLS != 86400 || c.TLS.ReloadS != 30 || c.OwnPKI() {
		t.Fatalf("defaults %+v", c)
	}
	c, err = ParseConfig([]byte("INSECURE_RAFT: true\nTLS: {CA: /pki/ca.pem, CERT: /pki/me.pem, KEY: /pki/me.key}\nAPI_TLS: {CERT: /pki/api.pem, KEY: /pki/api.key, PLAIN_HTTP: false}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if crt, _ := c.ZoneCAPaths(); crt != "/pki/ca.pem" || !c.OwnPKI() || !c.InsecureRaft || c.APITLS.PlainHTTP {
		t.Fatalf("parsed %+v", c)
	}
}

// TestBackupConfigBounds: BACKUP's values are bounded and errors name the key.
func TestBackupConfigBounds(t *testing.T) {
	for doc, key := range map[string]string{
		"BACKUP: {DIR: /b, INTERVAL_S: 4}":       "BACKUP.INTERVAL_S",
		"BACKUP: {DIR: /b, INTERVAL_S: 9999999}": "BACKUP.INTERVAL_S",
		"BACKUP: {DIR: /b, KEEP: 0}":             "BACKUP.KEEP",
		"BACKUP: {DIR: /b, KEEP: 1001}":          "BACKUP.KEEP",
		"BACKUP: {DIR: relative/dir}":            "BACKUP.DIR",
		"BACKUP: {DIR: /b, EVERY: 3}":            "BACKUP.EVERY",
	} {
		if _, err := ParseConfig([]byte(doc)); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: %v, want an error naming %s", doc, err, key)
		}
	}
	c, err := ParseConfig([]byte("BACKUP: {DIR: /b, INTERVAL_S: 5, KEEP: 1}"))
	if err != nil || c.Backup.Dir != "/b" || c.Backup.IntervalS != 5 || c.Backup.Keep != 1 {
		t.Fatalf("BACKUP parsed as %+v, %v", c.Backup, err)
	}
}
