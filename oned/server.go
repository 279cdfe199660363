package oned

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/hashicorp/raft"

	"github.com/oneha/oneha/federation"
	"github.com/oneha/oneha/hooks"
	"github.com/oneha/oneha/mux"
	"github.com/oneha/oneha/raftlog"
	"github.com/oneha/oneha/sqlcheck"
	"github.com/oneha/oneha/sqlfsm"
	"github.com/oneha/oneha/vip"
	"github.com/oneha/oneha/xmlrpc"
	"github.com/oneha/oneha/zone"
	"github.com/oneha/oneha/zoneca"
)

// Version is reported by one.system.version.
const Version = "OneHA 0.1.0"

// ErrLocked: another oned (or onedb restore) holds the data directory.
var ErrLocked = errors.New("data directory is in use by another oned")

// Server is one running oned.
type Server struct {
	cfg   Config
	log   *slog.Logger
	auth  credentials
	guard *authGuard

	lock    *os.File
	db      *sql.DB
	applyDB *sql.DB
	fsm     *sqlfsm.FSM
	node    *raftlog.Node // nil when solo
	sql     *sqlfsm.DB
	zone    *zone.Manager
	mux     *mux.Mux
	creds   *zoneca.Creds   // nil with INSECURE_RAFT or solo
	authz   *zoneAuthorizer // with creds
	peerTr  *http.Transport // server-to-server HTTP (newPeerTransport)
	ln      net.Listener
	http    *http.Server
	rpc     *xmlrpc.Server
	self    string        // this server's raft address (host:port)
	vip     *vip.VIP      // nil without VIP config
	hooks   *hooks.Runner // nil when solo
	metrics *metrics
	stages  *stageMetrics // oneha_write_stage_seconds, registered in metrics
	// reserved: client texts already found to name none of OneHA's tables
	reserved reservedCache
	auditW   *auditWatch  // the leader's divergence audit of its followers
	backups  *backupStats // scheduled backups (backup.go)
	// followers: what each follower last reported to the leader (lag)
	followers *followerWatch

	leaderMu   sync.Mutex // guards the leader ID → endpoint cache
	leaderID   string
	leaderRaft string // the leader's Raft address when cached
	leaderAddr string

	restart     chan struct{}
	restartOnce sync.Once

	bg       sync.WaitGroup
	bgCancel context.CancelFunc
	stopOnce sync.Once
	stopErr  error

	// reauthKick wakes the peer re-authorization loop (reauth.go); nil
	// without zone TLS.
	reauthKick chan struct{}
	// fedRep is the master zone leader's federation stream (FEDERATION
	// MODE MASTER), nil otherwise.
	fedRep *federation.Replicator
	// fedTabs is FEDERATED_TABLES with OpenNebula's (read-only).
	fedTabs federation.Tables
	// fedTr is the transport of calls to other zones (fedClient).
	fedTr     *http.Transport
	fedTrOnce sync.Once
}

// New starts a server: it opens the database and FSM, listens on PORT,
// starts Raft (unless solo), ensures the zone schema and serves XML-RPC.
// The caller stops it with Shutdown.
func New(ctx context.Context, cfg Config, log *slog.Logger) (s *Server, err error) {
	if log == nil {
		log = slog.Default()
	}
	s = &Server{cfg: cfg, log: log.With("server_id", cfg.Federation.ServerID), restart: make(chan struct{})}
	if s.fedTabs, err = federation.NewTables(cfg.Federation.Tables); err != nil {
		return nil, fmt.Errorf("%w: FEDERATED_TABLES: %w", ErrConfig, err)
	}
	if s.fedMode() == federation.Master && !cfg.Solo() {
		s.fedRep = s.newReplicator()
	}
	srv := s // the named result is nil on the error path
	defer func() {
		if err != nil {
			if srv.bgCancel != nil {
				srv.bgCancel()
			}
			if srv.node != nil {
				sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				srv.node.Shutdown(sctx)
				cancel()
			}
			if srv.http != nil {
				srv.http.Close() // Serve is in bg: stop it, or Wait never returns
			}
			srv.bg.Wait()
			srv.close()
		}
	}()
	if s.auth, err = loadCredentials(cfg.OneAuth); err != nil {
		return nil, err
	}
	WarnIfReadable(s.log, "ONE_AUTH", cfg.OneAuth)
	s.guard = newAuthGuard(s.log)
	if err = os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("DATA_DIR: %w", err)
	}
	if s.lock, err = LockDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	if err = s.openDB(ctx); err != nil {
		return nil, err
	}
	if err = s.wipeIfMarked(ctx); err != nil {
		return nil, err
	}
	auditEvery := uint64(cfg.Audit.Interval)
	if cfg.Solo() {
		auditEvery = 0 // nothing to compare with
	}
	if s.fsm, err = sqlfsm.New(ctx, sqlfsm.Config{Dialect: cfg.Dialect(), DB: s.db, ApplyDB: s.applyDB, Logger: s.log,
		AuditInterval: auditEvery}); err != nil {
		return nil, err
	}
	addr := net.JoinHostPort(cfg.ListenAddress, strconv.Itoa(cfg.Port))
	if s.ln, err = net.Listen("tcp", addr); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	bgCtx, cancel := context.WithCancel(context.Background())
	s.bgCancel = cancel
	s.stages = newStageMetrics() // before Raft starts: it records appends
	if cfg.Solo() {
		s.sql = sqlfsm.NewDB(s.fsm, sqlfsm.NewSolo(s.fsm))
		err = s.startSolo(ctx)
	} else {
		err = s.startRaft(ctx)
	}
	if err != nil {
		return nil, err
	}
	if s.creds != nil {
		s.bg.Add(1)
		go func() { defer srv.bg.Done(); srv.creds.Run(bgCtx) }() // srv: the error path sets s to nil
	}
	s.startReauth(bgCtx) // closes peer connections the zone no longer authorizes
	if cfg.Solo() {
		// Before the API serves: a client that sees the API up may call
		// one.zone.addserver at once (seed 003's first step).
		if err = s.zone.EnsureSchema(ctx); err != nil {
			return nil, fmt.Errorf("zone schema: %w", err)
		}
	}
	s.rpc = xmlrpc.NewServer(s.log)
	s.auditW = newAuditWatch()
	s.followers = newFollowerWatch()
	s.backups = &backupStats{}
	s.metrics = s.newMetrics()
	s.rpc.Stages = s.stages.observe
	s.registerAPI()
	httpMux := http.NewServeMux()
	httpMux.Handle("/RPC2", withRemote(withTLSPeer(s.rpc)))
	httpMux.Handle("/metrics", s.metrics.handler())
	httpMux.HandleFunc("/ready", s.ready)
	httpMux.HandleFunc("/leader", s.leaderCheck)
	httpMux.HandleFunc("/follower", s.followerCheck)
	httpMux.HandleFunc("/health", s.healthJSON)
	httpMux.HandleFunc("/status", s.statusJSON)
	httpMux.HandleFunc("/audit", s.auditHTTP)
	if cfg.PProf {
		httpMux.HandleFunc("/debug/pprof/", s.pprofHTTP)
	}
	s.http = newHTTPServer(cfg, httpMux, s.log)
	httpLn := s.mux.HTTPListener()
	s.bg.Add(1)
	go func() { // srv, not s: the error path sets the named result s to nil
		defer srv.bg.Done()
		if err := srv.http.Serve(httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			srv.log.Error("xmlrpc server stopped", "err", err)
		}
	}()
	s.bg.Add(1)
	go func() { defer srv.bg.Done(); srv.backupLoop(bgCtx) }()
	if !cfg.Solo() {
		if err = s.startLeadership(bgCtx); err != nil {
			return nil, err
		}
		s.bg.Add(3)
		go func() { defer srv.bg.Done(); srv.zone.Run(bgCtx) }()
		go func() { defer srv.bg.Done(); srv.auditLoop(bgCtx) }()
		go func() { defer srv.bg.Done(); srv.leaderDuties(bgCtx) }()
		if srv.fedRep != nil {
			srv.bg.Add(1)
			go func() { defer srv.bg.Done(); srv.fedLoop(bgCtx) }()
		}
	}
	if _, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		s.log.Warn("systemd notify", "err", err)
	}
	s.log.Info("oned started", "listen", s.ln.Addr().String(), "solo", cfg.Solo(), "backend", cfg.Dialect(), "version", Version)
	return s, nil
}

// newZone creates the zone manager on s.sql and s.node.
// A recovery marker (RecoveredFile, left by `oned recover`) is handed to
// the zone manager, which finishes it when this server leads.
func (s *Server) newZone() (err error) {
	zc := zone.Config{
		ZoneID: s.cfg.Federation.ZoneID, ZoneName: s.cfg.ZoneName, ServerID: s.cfg.Federation.ServerID,
		DB: s.sql, Node: s.node, Status: s.remoteStatus, Resync: s.remoteResync, Logger: s.log,
		DeadServerTimeout: time.Duration(s.cfg.Raft.DeadServerTimeoutS) * time.Second,
		MinQuorum:         s.cfg.Raft.MinQuorum,
	}
	if s.node != nil {
		if zc.Recovery, err = readRecovered(s.cfg.DataDir); err != nil {
			return err
		}
		if zc.Recovery != nil {
			s.log.Warn("recovered after a majority loss: the lost servers' zone rows are deleted once this configuration leads",
				"servers", zc.Recovery.Servers, "lost", len(zc.Recovery.Removed))
			zc.RecoveryDone = func() error { return os.Remove(recoveredPath(s.cfg.DataDir)) }
		}
	}
	s.zone, err = zone.New(zc)
	return err
}

func (s *Server) openDB(ctx context.Context) error {
	var err error
	switch s.cfg.Dialect() {
	case sqlcheck.SQLite:
		s.db, err = sqlfsm.OpenSQLite(s.cfg.SQLitePath())
	case sqlcheck.MySQL:
		tlsCfg, terr := s.cfg.DB.TLS.TLSConfig()
		if terr != nil {
			return terr
		}
		if s.cfg.DB.TLS.SkipVerify {
			s.log.Warn("DB.TLS.SKIP_VERIFY: the database server's certificate is not verified")
		}
		if s.db, err = sqlfsm.OpenMySQLTLS(s.cfg.MySQLDSN(), tlsCfg, s.cfg.DB.Connections); err == nil {
			s.applyDB, err = sqlfsm.OpenMySQLApplyTLS(s.cfg.MySQLDSN(), tlsCfg)
		}
	}
	if err != nil {
		return err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.db.PingContext(pingCtx); err != nil {
		if s.cfg.DB.TLS.enabled() {
			return fmt.Errorf("database (DB section, over TLS as DB.TLS says): %w", err)
		}
		return fmt.Errorf("database (DB section): %w", err)
	}
	return nil
}

// startRaft starts the node on the shared port, creates the zone manager
// and bootstraps a one-server zone when the seed's procedure says so: the
// local database lists this server as the zone's only server and has never
// been part of a zone. The zone manager's BootstrapGuard is the node's.
func (s *Server) startRaft(ctx context.Context) error {
	self, err := s.selfAddress(ctx)
	if err != nil {
		return err
	}
	s.self = self
	adv, err := net.ResolveTCPAddr("tcp", self)
	if err != nil {
		return fmt.Errorf("advertise address %s: %w", self, err)
	}
	servers, err := listServers(ctx, s.db, s.cfg.Federation.ZoneID)
	if err != nil {
		return err
	}
	boot := len(servers) == 1 && servers[0].ID == s.cfg.Federation.ServerID && s.fsm.AppliedIndex() == 0
	if err := s.setupZoneTLS(ctx, self, boot); err != nil {
		return err
	}
	s.peerTr = s.newPeerTransport()
	mc, err := s.muxConfig(adv)
	if err != nil {
		return err
	}
	s.mux = mux.New(s.ln, mc)
	rc := s.cfg.RaftNodeConfig()
	rc.Logger = s.log
	rc.OnAppend, rc.OnReplicate = s.stages.onAppend, s.stages.onReplicate
	rc.BootstrapGuard = func(ctx context.Context) error { return s.zone.BootstrapGuard(ctx) } // s.zone is set below, before Bootstrap
	rc.BeforeStepDown = func(ctx context.Context, reason string) {
		if err := s.zone.MarkStepDown(ctx, reason); err != nil {
			s.log.Warn("leadership history: could not record the reason of this step-down", "reason", reason, "err", err)
		}
	}
	node, err := raftlog.New(ctx, rc, s.fsm, raftlog.NewTransport(s.mux.RaftLayer(), rc))
	if err != nil {
		return err
	}
	s.node = node
	s.sql = sqlfsm.NewDB(s.fsm, node)
	if err := s.newZone(); err != nil {
		return err
	}
	if boot {
		err := node.Bootstrap(ctx, []raft.Server{{ID: raft.ServerID(rc.ID), Address: raft.ServerAddress(self), Suffrage: raft.Voter}})
		switch {
		case err == nil:
			s.log.Info("bootstrapped a one-server zone", "address", self)
			// The database held data before the log began (written solo):
			// make servers that join later start from a snapshot of it.
			wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			for !s.node.IsLeader() {
				select {
				case <-wctx.Done():
					return fmt.Errorf("bootstrap: no election within 30s: %w", wctx.Err())
				case <-time.After(20 * time.Millisecond):
				}
			}
			if err := s.node.WaitReady(wctx); err != nil {
				return fmt.Errorf("bootstrap: %w", err)
			}
			if err := s.node.Rebase(ctx); err != nil {
				return err
			}
		case errors.Is(err, raftlog.ErrExistingState):
		default:
			return fmt.Errorf("bootstrap: %w", err)
		}
	}
	return nil
}

// startSolo serves the port without Raft (SERVER_ID -1).
func (s *Server) startSolo(ctx context.Context) error {
	if err := s.setupZoneTLS(ctx, "", false); err != nil {
		return err
	}
	s.peerTr = s.newPeerTransport()
	mc, err := s.muxConfig(nil)
	if err != nil {
		return err
	}
	s.mux = mux.New(s.ln, mc)
	return s.newZone()
}

// selfAddress is the host:port other servers reach this one at: from this
// server's row in the zone table when the database has it, else
// LISTEN_ADDRESS:PORT, else 127.0.0.1:PORT.
func (s *Server) selfAddress(ctx context.Context) (string, error) {
	servers, err := listServers(ctx, s.db, s.cfg.Federation.ZoneID)
	if err != nil {
		return "", err
	}
	for _, sv := range servers {
		if sv.ID == s.cfg.Federation.ServerID {
			return zone.RaftAddress(sv.Endpoint)
		}
	}
	host := s.cfg.ListenAddress
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = s.primaryIPv4()
		s.log.Info("not in the local zone table yet; advertising this host's primary address", "address", host, "port", s.cfg.Port)
	}
	return net.JoinHostPort(host, strconv.Itoa(s.cfg.Port)), nil
}

// primaryIPv4 is the first global IPv4 address of an up, non-loopback
// interface that is not a configured VIP; 127.0.0.1 when there is none.
func (s *Server) primaryIPv4() string {
	vips := map[string]bool{}
	for _, v := range s.cfg.VIP {
		if p, err := netip.ParsePrefix(v.Address); err == nil {
			vips[p.Addr().String()] = true
		}
	}
	ifaces, err := net.Interfaces()
	if err != nil {
		return "127.0.0.1"
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifc.Addrs()
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok || ipn.IP.To4() == nil || !ipn.IP.IsGlobalUnicast() || vips[ipn.IP.String()] {
				continue
			}
			return ipn.IP.String()
		}
	}
	return "127.0.0.1"
}

// leaderDuties ensures the zone schema each time this server becomes a
// ready leader (idempotent), so a fresh zone gets its tables, and records
// the leadership change in the zone's history (zone.RecordLeadership).
func (s *Server) leaderDuties(ctx context.Context) {
	check := func() {
		if !s.node.IsLeader() {
			return
		}
		wctx, c := context.WithTimeout(ctx, 10*time.Second)
		defer c()
		if err := s.node.WaitReady(wctx); err != nil {
			return
		}
		if err := s.zone.EnsureSchema(wctx); err != nil {
			s.log.Warn("zone schema", "err", err)
			return
		}
		if err := s.zone.RecordLeadership(wctx); err != nil {
			s.log.Warn("leadership history", "err", err)
		}
	}
	s.onEachChange(ctx, check)
}

// onEachChange calls check now and after each Raft state change until ctx
// ends (or the node stops).
func (s *Server) onEachChange(ctx context.Context, check func()) {
	ch, cancel := s.node.Subscribe()
	defer cancel()
	check()
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-ch:
			if !ok {
				return
			}
			check()
		}
	}
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }
