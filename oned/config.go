package oned

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"gopkg.in/yaml.v3"

	"github.com/oneha/oneha/federation"
	"github.com/oneha/oneha/raftlog"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
)

// maxDeadServerTimeoutS bounds RAFT.DEAD_SERVER_TIMEOUT_S (30 days).
const maxDeadServerTimeoutS = 30 * 24 * 3600

// maxRequestIDs bounds REQUEST_ID.MAX: each kept id costs a row of at most
// about 1 KiB (ids and scopes are bounded, results are a few numbers per
// statement), so 10 million ids stay within a few GiB.
const maxRequestIDs = 10_000_000

// ErrConfig wraps every configuration error; the message names the key.
var ErrConfig = errors.New("config")

// Config is oned's configuration: oned.conf's attribute names, in YAML.
//
//	PORT: 2633
//	DATA_DIR: /var/lib/one/oneha
//	FEDERATION: {SERVER_ID: 0}
//	DB: {BACKEND: mysql, SERVER: localhost, USER: oneadmin, PASSWD: x, DB_NAME: opennebula}
//	RAFT: {ELECTION_TIMEOUT_MS: 500}
type Config struct {
	ListenAddress string // LISTEN_ADDRESS, default 0.0.0.0
	Port          int    // PORT, default 2633: XML-RPC and Raft share it
	DataDir       string // DATA_DIR: Raft state and the SQLite file
	OneAuth       string // ONE_AUTH: file holding "oneadmin:password"
	ZoneName      string // ZONE_NAME: name of a new zone (default OpenNebula)
	DB            DBConfig
	Federation    FederationConfig
	Raft          RaftConfig
	LeaderHook    HookConfig // RAFT_LEADER_HOOK
	FollowerHook  HookConfig // RAFT_FOLLOWER_HOOK
	HooksDir      string     // HOOKS_DIR: base of relative hook commands
	HookTimeoutMS int        // HOOK_TIMEOUT_MS: a hook running longer is killed
	VIP           []VIPConfig
	LogLevel      string       // LOG_LEVEL: debug, info, warn, error
	TLS           TLSConfig    // TLS: the zone's mutual TLS between servers
	InsecureRaft  bool         // INSECURE_RAFT: plaintext Raft and server-to-server HTTP (warned about)
	PProf         bool         // PPROF: /debug/pprof/ for oneadmin and peers (pprof.go), default no
	APITLS        APITLSConfig // API_TLS: XML-RPC over TLS on PORT
	// Timeout is TIMEOUT (s, default 15, as OpenNebula's): a request's
	// headers and body must arrive within it, or the connection is cut.
	Timeout int
	// KeepaliveTimeout is KEEPALIVE_TIMEOUT (s, default 15, as
	// OpenNebula's): an idle keep-alive connection is closed after it.
	KeepaliveTimeout int
	Audit            AuditConfig  // AUDIT: the divergence audit
	Backup           BackupConfig // BACKUP: scheduled dumps
	// RequestID is REQUEST_ID: how long one.sql.exec remembers request ids.
	RequestID RequestIDConfig
}

// RequestIDConfig is the REQUEST_ID section: the retention of the request
// ids one.sql.exec deduplicates. The leader stamps both values into every
// entry carrying an id, so all servers prune alike; a change takes effect
// with the next such entry.
type RequestIDConfig struct {
	// WindowS is WINDOW_S (s, default 86400): an id is forgotten once an
	// entry stamped this much later than its first entry applies.
	WindowS int
	// Max is MAX (default 100000): an id is also forgotten once this many
	// log entries followed its first, so at most Max ids are kept.
	Max int
}

// BackupConfig is the BACKUP section (OneHA's): scheduled consistent dumps
// named as onedb backup names them (see backupLoop for who takes them).
type BackupConfig struct {
	// Dir is DIR: where this server writes its dumps; "" (default) turns
	// scheduled backups off. Created 0700 if missing.
	Dir string
	// IntervalS is INTERVAL_S (default 3600, at least MinBackupIntervalS).
	IntervalS int
	// Keep is KEEP (default 7, 1..MaxBackupKeep): the newest dumps kept in
	// Dir; older ones are deleted after a new one is verified.
	Keep int
}

// Bounds of the BACKUP section.
const (
	MinBackupIntervalS = 5
	MaxBackupIntervalS = 30 * 24 * 3600
	MaxBackupKeep      = 1000
)

// AuditConfig is the AUDIT section (OneHA's): the divergence audit.
type AuditConfig struct {
	// Interval is INTERVAL (entries, default 10000): every server checksums
	// its tables at each multiple of it; 0 disables the table audit (entry
	// outcomes are still compared).
	Interval int
	// AutoRepair is AUTO_REPAIR (default false): the leader resets a
	// diverged follower (onezone server-reset) by itself.
	AutoRepair bool
}

// TLSConfig is the TLS section: the certificates servers of a zone
// authenticate each other with (Raft and server-to-server calls).
type TLSConfig struct {
	CA       string // CA: zone CA certificate, default <dir of ONE_AUTH>/zone-ca.crt
	CAKey    string // CA_KEY: zone CA key, default <dir of ONE_AUTH>/zone-ca.key
	Cert     string // CERT: this server's certificate (operator's own PKI; with KEY and CA)
	Key      string // KEY: its key
	LeafTTLS int    // LEAF_TTL_S, default 86400: lifetime of auto-issued leaves (renewed at 2/3)
	ReloadS  int    // RELOAD_S, default 30: how often the CA (and CERT/KEY) files are checked for changes
}

// APITLSConfig is the API_TLS section: XML-RPC over TLS for clients.
type APITLSConfig struct {
	Cert      string // CERT: certificate served to API clients
	Key       string // KEY: its key
	PlainHTTP bool   // PLAIN_HTTP, default true: plain HTTP stays available
}

// VIPConfig is one floating address (VIP: [ {INTERFACE, ADDRESS} ]): held by
// the leader only.
type VIPConfig struct {
	Interface string // INTERFACE, e.g. eth0
	Address   string // ADDRESS in CIDR form, e.g. 10.0.1.100/24
}

// DBConfig is oned.conf's DB section.
type DBConfig struct {
	Backend     string // BACKEND: sqlite (default) or mysql
	Server      string // SERVER, default localhost
	Port        int    // PORT, 0 = 3306
	User        string // USER, default oneadmin
	Passwd      string // PASSWD
	Name        string // DB_NAME, default opennebula
	Connections int    // CONNECTIONS, default 25
	TLS         DBTLSConfig
}

// DBTLSConfig is DB.TLS: TLS to MariaDB/MySQL (mysql backend only).
type DBTLSConfig struct {
	CA         string // CA: PEM file of the CA(s) that signed the server's certificate (default: the system pool)
	Cert       string // CERT: PEM client certificate, for servers that require one (with KEY)
	Key        string // KEY: PEM private key of CERT
	ServerName string // SERVER_NAME: name to verify in the server's certificate (default: DB.SERVER)
	SkipVerify bool   // SKIP_VERIFY: encrypt without verifying the server (warned at start)
}

// FederationConfig is oned.conf's FEDERATION section.
type FederationConfig struct {
	Mode       string // MODE: STANDALONE (default), MASTER or SLAVE
	ZoneID     int    // ZONE_ID
	ServerID   int    // SERVER_ID: -1 runs solo, without Raft
	MasterOned string // MASTER_ONED: a slave's way to the master zone (its VIP's ENDPOINT)
	// LogRetention (LOG_RETENTION, OneHA's): federation records the master
	// keeps, default 100000, 0 keeps all; a slave zone behind that gets a
	// snapshot of the federated tables.
	LogRetention int
	// Tables is the top-level FEDERATED_TABLES: tables federated besides
	// federation.DefaultTables. Every zone must declare the same.
	Tables []string
}

// RaftConfig is oned.conf's RAFT section, in OpenNebula's units.
type RaftConfig struct {
	ElectionTimeoutMS  int // ELECTION_TIMEOUT_MS, default 500 (LAN: a dead leader is replaced in about a second)
	BroadcastTimeoutMS int // BROADCAST_TIMEOUT_MS, default 500: replication I/O timeout
	// CommitTimeoutMS is COMMIT_TIMEOUT_MS (OneHA's, default 50, 5 up to
	// ELECTION_TIMEOUT_MS): after the last write, a follower learns the
	// commit index (and its stale reads see the write) within one to two
	// of it. Lower costs an idle zone CPU (raftlog.Config.CommitTimeout).
	CommitTimeoutMS int
	XMLRPCTimeoutMS int // XMLRPC_TIMEOUT_MS, default 1000: server-to-server calls
	LogRetention    int // LOG_RETENTION, default 250000: entries kept after a snapshot
	LogPurgeTimeout int // LOG_PURGE_TIMEOUT (s), default 60: how often a snapshot is considered
	LimitPurge      int // LIMIT_PURGE, default 100000: new entries that trigger a snapshot
	// DeadServerTimeoutS is DEAD_SERVER_TIMEOUT_S (OneHA's, default 0 =
	// off): the leader removes from the voters a voter that has not
	// answered for this long (it stays in the zone table and is promoted
	// again once back and caught up).
	DeadServerTimeoutS int
	// MinQuorum is MIN_QUORUM (OneHA's, default 3): dead-server cleanup
	// never leaves fewer voters than this.
	MinQuorum int
	// FastFailover is FAST_FAILOVER (OneHA's, default yes): followers
	// replace a leader whose process died (connections closed, port
	// refusing) at once instead of after ELECTION_TIMEOUT_MS.
	FastFailover bool
}

// HookConfig is RAFT_LEADER_HOOK / RAFT_FOLLOWER_HOOK.
type HookConfig struct {
	Command   string // COMMAND: absolute, or relative to /var/lib/one/remotes/hooks
	Arguments string // ARGUMENTS, split on whitespace
}

// DefaultConfig returns the defaults of every key.
func DefaultConfig() Config {
	return Config{
		ListenAddress: "0.0.0.0",
		Port:          2633,
		DataDir:       "/var/lib/one/oneha",
		OneAuth:       "/var/lib/one/.one/one_auth",
		ZoneName:      "OpenNebula",
		LogLevel:      "info",
		TLS:           TLSConfig{LeafTTLS: 86400, ReloadS: 30},
		APITLS:        APITLSConfig{PlainHTTP: true},
		HooksDir:      "/var/lib/one/remotes/hooks",
		HookTimeoutMS: 10000,
		Timeout:       15, KeepaliveTimeout: 15,
		Audit:      AuditConfig{Interval: 10000},
		Backup:     BackupConfig{IntervalS: 3600, Keep: 7},
		RequestID:  RequestIDConfig{WindowS: sqlfsm.DefaultRequestWindow, Max: sqlfsm.DefaultRequestKeep},
		DB:         DBConfig{Backend: "sqlite", Server: "localhost", User: "oneadmin", Name: "opennebula", Connections: 25},
		Federation: FederationConfig{Mode: "STANDALONE", ServerID: -1, LogRetention: 100000},
		Raft: RaftConfig{ElectionTimeoutMS: 500, BroadcastTimeoutMS: 500, CommitTimeoutMS: 50, XMLRPCTimeoutMS: 1000,
			LogRetention: 250000, LogPurgeTimeout: 60, LimitPurge: 100000, MinQuorum: 3, FastFailover: true},
	}
}

// LoadConfig reads and validates the YAML file at path.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// ParseConfig parses YAML over the defaults. An unknown key, a value of the
// wrong type or an impossible value is an error naming the key.
func ParseConfig(b []byte) (Config, error) {
	c := DefaultConfig()
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return c, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if len(doc.Content) == 0 {
		return c, c.Validate()
	}
	hook := func(h *HookConfig) section {
		return section{"COMMAND": &h.Command, "ARGUMENTS": &h.Arguments}
	}
	top := section{
		"LISTEN_ADDRESS": &c.ListenAddress,
		"PORT":           &c.Port,
		"DATA_DIR":       &c.DataDir,
		"ONE_AUTH":       &c.OneAuth,
		"ZONE_NAME":      &c.ZoneName,
		"LOG_LEVEL":      &c.LogLevel,
		"DB": section{"BACKEND": &c.DB.Backend, "SERVER": &c.DB.Server, "PORT": &c.DB.Port, "USER": &c.DB.User,
			"PASSWD": &c.DB.Passwd, "DB_NAME": &c.DB.Name, "CONNECTIONS": &c.DB.Connections,
			"TLS": section{"CA": &c.DB.TLS.CA, "CERT": &c.DB.TLS.Cert, "KEY": &c.DB.TLS.Key,
				"SERVER_NAME": &c.DB.TLS.ServerName, "SKIP_VERIFY": &c.DB.TLS.SkipVerify}},
		"FEDERATION": section{"MODE": &c.Federation.Mode, "ZONE_ID": &c.Federation.ZoneID,
			"SERVER_ID": &c.Federation.ServerID, "MASTER_ONED": &c.Federation.MasterOned,
			"LOG_RETENTION": &c.Federation.LogRetention},
		"RAFT": section{"ELECTION_TIMEOUT_MS": &c.Raft.ElectionTimeoutMS, "BROADCAST_TIMEOUT_MS": &c.Raft.BroadcastTimeoutMS,
			"COMMIT_TIMEOUT_MS": &c.Raft.CommitTimeoutMS,
			"XMLRPC_TIMEOUT_MS": &c.Raft.XMLRPCTimeoutMS, "LOG_RETENTION": &c.Raft.LogRetention,
			"LOG_PURGE_TIMEOUT": &c.Raft.LogPurgeTimeout, "LIMIT_PURGE": &c.Raft.LimitPurge,
			"DEAD_SERVER_TIMEOUT_S": &c.Raft.DeadServerTimeoutS, "MIN_QUORUM": &c.Raft.MinQuorum,
			"FAST_FAILOVER": &c.Raft.FastFailover},
		"RAFT_LEADER_HOOK":   hook(&c.LeaderHook),
		"RAFT_FOLLOWER_HOOK": hook(&c.FollowerHook),
		"HOOKS_DIR":          &c.HooksDir,
		"HOOK_TIMEOUT_MS":    &c.HookTimeoutMS,
		"VIP":                vipList{&c.VIP},
		"TLS": section{"CA": &c.TLS.CA, "CA_KEY": &c.TLS.CAKey, "CERT": &c.TLS.Cert, "KEY": &c.TLS.Key,
			"LEAF_TTL_S": &c.TLS.LeafTTLS, "RELOAD_S": &c.TLS.ReloadS},
		"FEDERATED_TABLES":  stringList{&c.Federation.Tables},
		"INSECURE_RAFT":     &c.InsecureRaft,
		"PPROF":             &c.PProf,
		"API_TLS":           section{"CERT": &c.APITLS.Cert, "KEY": &c.APITLS.Key, "PLAIN_HTTP": &c.APITLS.PlainHTTP},
		"TIMEOUT":           &c.Timeout,
		"KEEPALIVE_TIMEOUT": &c.KeepaliveTimeout,
		"AUDIT":             section{"INTERVAL": &c.Audit.Interval, "AUTO_REPAIR": &c.Audit.AutoRepair},
		"BACKUP":            section{"DIR": &c.Backup.Dir, "INTERVAL_S": &c.Backup.IntervalS, "KEEP": &c.Backup.Keep},
		"REQUEST_ID":        section{"WINDOW_S": &c.RequestID.WindowS, "MAX": &c.RequestID.Max},
	}
	if err := top.decode("", doc.Content[0]); err != nil {
		return c, err
	}
	return c, c.Validate()
}

// Validate checks values against what oned can run.
func (c Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrConfig, key, fmt.Sprintf(format, args...))
	}
	if c.Port < 1 || c.Port > 65535 {
		return bad("PORT", "%d is not a TCP port", c.Port)
	}
	if c.Audit.Interval < 0 {
		return bad("AUDIT.INTERVAL", "%d: want 0 (off) or a number of entries", c.Audit.Interval)
	}
	if c.DataDir == "" {
		return bad("DATA_DIR", "must be set")
	}
	if c.Backup.IntervalS < MinBackupIntervalS || c.Backup.IntervalS > MaxBackupIntervalS {
		return bad("BACKUP.INTERVAL_S", "%d: want %d..%d seconds", c.Backup.IntervalS, MinBackupIntervalS, MaxBackupIntervalS)
	}
	if c.Backup.Keep < 1 || c.Backup.Keep > MaxBackupKeep {
		return bad("BACKUP.KEEP", "%d: want 1..%d", c.Backup.Keep, MaxBackupKeep)
	}
	if c.Backup.Dir != "" && !filepath.IsAbs(c.Backup.Dir) {
		return bad("BACKUP.DIR", "%q: want an absolute path", c.Backup.Dir)
	}
	switch strings.ToLower(c.DB.Backend) {
	case "sqlite", "mysql":
	default:
		return bad("DB.BACKEND", "%q: want sqlite or mysql", c.DB.Backend)
	}
	if c.DB.Port < 0 || c.DB.Port > 65535 {
		return bad("DB.PORT", "%d is not a TCP port", c.DB.Port)
	}
	if c.DB.Connections < 4 {
		return bad("DB.CONNECTIONS", "%d: need at least 4", c.DB.Connections)
	}
	if strings.ToLower(c.DB.Backend) == "mysql" && c.DB.Name == "" {
		return bad("DB.DB_NAME", "must be set for mysql")
	}
	if err := c.DB.TLS.validate(strings.ToLower(c.DB.Backend)); err != nil {
		return err
	}
	switch strings.ToUpper(c.Federation.Mode) {
	case federation.Standalone:
	case federation.Master, federation.Slave:
		if c.Federation.ServerID < 0 {
			return bad("FEDERATION.MODE", "%s needs a Raft zone (SERVER_ID >= 0; a one-server zone will do)", strings.ToUpper(c.Federation.Mode))
		}
	default:
		return bad("FEDERATION.MODE", "%q: want STANDALONE, MASTER or SLAVE", c.Federation.Mode)
	}
	if strings.EqualFold(c.Federation.Mode, federation.Slave) {
		if u, err := url.Parse(c.Federation.MasterOned); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("FEDERATION.MASTER_ONED", "%q: a slave needs the master zone's ENDPOINT (http[s]://host:port/RPC2)", c.Federation.MasterOned)
		}
	}
	if c.Federation.LogRetention < 0 {
		return bad("FEDERATION.LOG_RETENTION", "%d: want 0 (keep all) or a number of records", c.Federation.LogRetention)
	}
	if _, err := federation.NewTables(c.Federation.Tables); err != nil {
		return bad("FEDERATED_TABLES", "%v", err)
	}
	if c.Federation.ZoneID < 0 {
		return bad("FEDERATION.ZONE_ID", "%d must be >= 0", c.Federation.ZoneID)
	}
	if c.Federation.ServerID < -1 {
		return bad("FEDERATION.SERVER_ID", "%d must be -1 (solo) or a server ID >= 0", c.Federation.ServerID)
	}
	for _, d := range []struct {
		key string
		v   int
		min int
	}{
		{"RAFT.ELECTION_TIMEOUT_MS", c.Raft.ElectionTimeoutMS, 10},
		{"RAFT.BROADCAST_TIMEOUT_MS", c.Raft.BroadcastTimeoutMS, 10},
		{"RAFT.COMMIT_TIMEOUT_MS", c.Raft.CommitTimeoutMS, 5},
		{"RAFT.XMLRPC_TIMEOUT_MS", c.Raft.XMLRPCTimeoutMS, 10},
		{"RAFT.LOG_RETENTION", c.Raft.LogRetention, 0},
		{"RAFT.LOG_PURGE_TIMEOUT", c.Raft.LogPurgeTimeout, 1},
		{"RAFT.LIMIT_PURGE", c.Raft.LimitPurge, 1},
		{"RAFT.DEAD_SERVER_TIMEOUT_S", c.Raft.DeadServerTimeoutS, 0},
		{"RAFT.MIN_QUORUM", c.Raft.MinQuorum, 1},
		{"TIMEOUT", c.Timeout, 1},
		{"KEEPALIVE_TIMEOUT", c.KeepaliveTimeout, 1},
		{"REQUEST_ID.WINDOW_S", c.RequestID.WindowS, 1},
		{"REQUEST_ID.MAX", c.RequestID.Max, 1},
	} {
		if d.v < d.min {
			return bad(d.key, "%d must be >= %d", d.v, d.min)
		}
	}
	if c.Raft.CommitTimeoutMS > c.Raft.ElectionTimeoutMS {
		return bad("RAFT.COMMIT_TIMEOUT_MS", "%d must be <= ELECTION_TIMEOUT_MS (%d)", c.Raft.CommitTimeoutMS, c.Raft.ElectionTimeoutMS)
	}
	if c.Raft.DeadServerTimeoutS > maxDeadServerTimeoutS {
		return bad("RAFT.DEAD_SERVER_TIMEOUT_S", "%d must be <= %d (30 days); 0 turns dead-server cleanup off", c.Raft.DeadServerTimeoutS, maxDeadServerTimeoutS)
	}
	if c.RequestID.Max > maxRequestIDs {
		return bad("REQUEST_ID.MAX", "%d must be <= %d", c.RequestID.Max, maxRequestIDs)
	}
	if c.HookTimeoutMS < 10 {
		return bad("HOOK_TIMEOUT_MS", "%d must be >= 10", c.HookTimeoutMS)
	}
	for i, v := range c.VIP {
		key := fmt.Sprintf("VIP[%d]", i)
		if v.Interface == "" {
			return bad(key+".INTERFACE", "must be set")
		}
		if _, err := netip.ParsePrefix(v.Address); err != nil {
			return bad(key+".ADDRESS", "%q is not an address in CIDR form (10.0.1.100/24)", v.Address)
		}
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		return bad("LOG_LEVEL", "%q: want debug, info, warn or error", c.LogLevel)
	}
	return c.validateTLS(bad)
}

// Solo reports whether the server runs without Raft (SERVER_ID -1).
func (c Config) Solo() bool { return c.Federation.ServerID < 0 }

// Dialect is the SQL dialect of the configured backend.
func (c Config) Dialect() sqlcheck.Dialect {
	if strings.EqualFold(c.DB.Backend, "mysql") {
		return sqlcheck.MySQL
	}
	return sqlcheck.SQLite
}

// SQLitePath is the SQLite file under DATA_DIR.
func (c Config) SQLitePath() string { return filepath.Join(c.DataDir, "one.db") }

// MySQLDSN is the go-sql-driver DSN of the DB section.
func (c Config) MySQLDSN() string {
	port := c.DB.Port
	if port == 0 {
		port = 3306
	}
	host := c.DB.Server
	if host == "" {
		host = "localhost"
	}
	m := mysql.NewConfig()
	m.User, m.Passwd, m.DBName = c.DB.User, c.DB.Passwd, c.DB.Name
	m.Net, m.Addr = "tcp", net.JoinHostPort(host, strconv.Itoa(port))
	return m.FormatDSN()
}

// RaftNodeConfig maps the RAFT section onto raftlog's config.
func (c Config) RaftNodeConfig() raftlog.Config {
	r := raftlog.DefaultConfig()
	r.ID = fmt.Sprint(c.Federation.ServerID)
	r.Dir = filepath.Join(c.DataDir, "raft")
	r.ElectionTimeout = time.Duration(c.Raft.ElectionTimeoutMS) * time.Millisecond
	r.LeaderLease = r.ElectionTimeout / 2
	r.BroadcastTimeout = time.Duration(c.Raft.BroadcastTimeoutMS) * time.Millisecond
	r.CommitTimeout = time.Duration(c.Raft.CommitTimeoutMS) * time.Millisecond
	r.TrailingLogs = uint64(c.Raft.LogRetention)
	r.SnapshotInterval = time.Duration(c.Raft.LogPurgeTimeout) * time.Second
	r.SnapshotThreshold = uint64(c.Raft.LimitPurge)
	r.DeathWatch = c.Raft.FastFailover
	return r
}

// XMLRPCTimeout is RAFT.XMLRPC_TIMEOUT_MS.
func (c Config) XMLRPCTimeout() time.Duration {
	return time.Duration(c.Raft.XMLRPCTimeoutMS) * time.Millisecond
}
