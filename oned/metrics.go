package oned

import (
	"context"
	"net/http"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/oneha/oneha/mux"
	"github.com/oneha/oneha/raftlog"
)

// metrics are the server's Prometheus metrics, in a registry of its own
// (no global state). Gauges are read from the node and the FSM at scrape
// time, so they are never stale.
type metrics struct {
	reg          *prometheus.Registry
	writeLatency *prometheus.HistogramVec
}

func (s *Server) newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.writeLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "oneha_write_duration_seconds",
		Help:    "Latency of one.sql.exec calls answered by this server, by outcome (ok, error, replayed: a request id seen before).",
		Buckets: prometheus.ExponentialBuckets(0.0002, 2, 16),
	}, []string{"outcome"})
	m.reg.MustRegister(m.writeLatency)
	m.reg.MustRegister(s.stages.vec)
	m.reg.MustRegister(s.auditW.divergent, s.auditW.mismatches)
	m.reg.MustRegister(newFollowerCollector(s))
	gauge := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	counter := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
	}
	rg := func(name, help string, f func(raftStats) float64) raftGauge {
		return raftGauge{prometheus.NewDesc(name, help, nil, nil), f}
	}
	m.reg.MustRegister(raftCollector{s, []raftGauge{
		rg("oneha_raft_state", "OpenNebula STATE: 0 solo, 1 candidate, 2 follower, 3 leader.", func(st raftStats) float64 { return st.state }),
		rg("oneha_raft_term", "Current Raft term.", func(st raftStats) float64 { return st.term }),
		rg("oneha_raft_commit_index", "Raft commit index.", func(st raftStats) float64 { return st.commit }),
		rg("oneha_raft_last_contact_seconds", "Seconds since a follower last heard from the leader (0 on the leader).", func(st raftStats) float64 { return st.contact }),
		rg("oneha_apply_lag", "Committed entries not yet applied to the local database.", func(st raftStats) float64 {
			return max(st.commit-float64(s.fsm.AppliedIndex()), 0)
		}),
	}})
	gauge("oneha_backup_last_success_timestamp_seconds", "Unix time of this server's last scheduled backup (0: none yet).", func() float64 {
		last, _, _, _ := s.backups.snapshot()
		if last.IsZero() {
			return 0
		}
		return float64(last.Unix())
	})
	gauge("oneha_backup_last_applied_index", "Applied index held by this server's last scheduled backup.", func() float64 {
		_, idx, _, _ := s.backups.snapshot()
		return float64(idx)
	})
	counter("oneha_backups_total", "Scheduled backups this server wrote.", func() float64 {
		_, _, n, _ := s.backups.snapshot()
		return float64(n)
	})
	counter("oneha_backup_failures_total", "Scheduled backups this server attempted and failed (logged at Error).", func() float64 {
		_, _, _, n := s.backups.snapshot()
		return float64(n)
	})
	gauge("oneha_federation_index", "Last federation index applied by this server (-1: STANDALONE zone).", func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		return float64(s.fedLogIndex(ctx))
	})
	if s.fedRep != nil {
		m.reg.MustRegister(newFedCollector(s))
	}
	gauge("oneha_applied_index", "Index of the last entry applied to the local database.", func() float64 { return float64(s.fsm.AppliedIndex()) })
	gauge("oneha_apply_degraded", "1 while the local database cannot apply (a transient fault being retried) or one batch has run for over 10 s.", func() float64 {
		if s.fsm.Degraded() != nil || s.fsm.Stalled() != nil {
			return 1
		}
		return 0
	})
	counter("oneha_apply_transient_faults_total", "Apply attempts that failed with a transient database fault (retried, never skipped).", func() float64 {
		return float64(s.fsm.TransientFaults())
	})
	counter("oneha_hook_runs_total", "Leadership actions run (VIP and RAFT_*_HOOK commands).", func() float64 {
		runs, _ := s.hookStats()
		return float64(runs)
	})
	counter("oneha_hook_failures_total", "Leadership actions that failed.", func() float64 {
		_, failed := s.hookStats()
		return float64(failed)
	})
	gauge("oneha_port_pending_connections", "Connections on PORT awaiting their first byte or TLS handshake.", func() float64 {
		return float64(s.mux.Stats().Pending)
	})
	gauge("oneha_raft_connections", "Inbound Raft connections open.", func() float64 { return float64(s.mux.Stats().RaftConns) })
	gauge("oneha_http_connections", "HTTP connections (plain and TLS) open on PORT.", func() float64 { return float64(s.mux.Stats().HTTPConns) })
	gauge("oneha_peer_connections", "Authenticated peer connections open (Raft in and out, server-to-server HTTP).", func() float64 {
		return float64(s.mux.Stats().PeerConns)
	})
	for reason, f := range map[string]func(mux.Stats) uint64{
		"unauthorized": func(st mux.Stats) uint64 { return st.ClosedUnauthorized },
		"lifetime":     func(st mux.Stats) uint64 { return st.ClosedLifetime },
	} {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "oneha_peer_connections_closed_total",
			Help:        "Open peer connections closed by the server: peer no longer authorized, or lifetime/certificate expiry reached.",
			ConstLabels: prometheus.Labels{"reason": reason}}, func() float64 { return float64(f(s.mux.Stats())) }))
	}
	for reason, f := range map[string]func(mux.Stats) uint64{
		"max_pending":               func(st mux.Stats) uint64 { return st.RefusedPending },
		"max_raft_conns":            func(st mux.Stats) uint64 { return st.RefusedRaftConns },
		"max_pending_per_source":    func(st mux.Stats) uint64 { return st.RefusedPendingSource },
		"max_http_conns":            func(st mux.Stats) uint64 { return st.RefusedHTTPConns },
		"max_http_conns_per_source": func(st mux.Stats) uint64 { return st.RefusedHTTPConnsSource },
		"plain_raft":                func(st mux.Stats) uint64 { return st.RefusedPlainRaft },
		"plain_http":                func(st mux.Stats) uint64 { return st.RefusedPlainHTTP },
		"tls":                       func(st mux.Stats) uint64 { return st.RefusedTLS },
		"unknown":                   func(st mux.Stats) uint64 { return st.RefusedUnknown },
		"timeout":                   func(st mux.Stats) uint64 { return st.TimedOut },
	} {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "oneha_port_refused_connections_total",
			Help:        "Connections on PORT closed before use, by reason (timeout: no first byte or handshake in time).",
			ConstLabels: prometheus.Labels{"reason": reason}}, func() float64 { return float64(f(s.mux.Stats())) }))
	}
	deaths := func(f func(raftlog.DeathWatchStats) uint64) func() float64 {
		return func() float64 {
			if s.node == nil {
				return 0
			}
			return float64(f(s.node.DeathWatch()))
		}
	}
	for result, f := range map[string]func(raftlog.DeathWatchStats) uint64{
		"alive":   func(st raftlog.DeathWatchStats) uint64 { return st.Alive },
		"refused": func(st raftlog.DeathWatchStats) uint64 { return st.Refused },
		"unknown": func(st raftlog.DeathWatchStats) uint64 { return st.Unknown },
	} {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "oneha_raft_death_probes_total",
			Help:        "Connects to the leader's PORT after one of its Raft connections closed (RAFT FAST_FAILOVER), by result: alive (accepted), refused (its process is gone), unknown (timeout or other error).",
			ConstLabels: prometheus.Labels{"result": result}}, deaths(f)))
	}
	counter("oneha_raft_death_elections_total", "Elections this server started because the leader's PORT refused connections (RAFT FAST_FAILOVER).",
		deaths(func(st raftlog.DeathWatchStats) uint64 { return st.Elections }))
	counter("oneha_raft_death_overtakes_total", "Of oneha_raft_death_elections_total, those started in this server's turn although an election had begun, because its candidate's log was behind this server's (it could not win with this server's vote).",
		deaths(func(st raftlog.DeathWatchStats) uint64 { return st.Overtakes }))
	counter("oneha_raft_death_spared_total", "Refused probes after which a leader was heard from before this server's turn to elect (RAFT FAST_FAILOVER): no election.",
		deaths(func(st raftlog.DeathWatchStats) uint64 { return st.Spared }))
	counter("oneha_api_failed_logins_total", "Logins (XML-RPC session or /status Basic auth) with wrong credentials.", func() float64 {
		return float64(s.guard.failures.Load())
	})
	counter("oneha_api_refused_logins_total", "Login attempts refused unchecked: inside an address's backoff window, or failed before while the server-wide failure bucket is empty.", func() float64 {
		return float64(s.guard.refusals.Load())
	})
	counter("oneha_api_busy_total", "XML-RPC requests answered 503: the in-flight body budget, or the address's share of it, stayed full.", func() float64 {
		return float64(s.rpc.Budget.Refused())
	})
	gauge("oneha_api_body_bytes_in_flight", "XML-RPC request-body bytes being read and decoded now.", func() float64 {
		return float64(s.rpc.Budget.InFlight())
	})
	gauge("oneha_vip_held", "1 when this server holds every configured floating address.", func() float64 {
		if s.vipHeld() {
			return 1
		}
		return 0
	})
	return m
}

type raftStats struct{ state, term, commit, contact float64 }

// raftStats reads the node's stats once (zero when solo or on error).
func (s *Server) raftStats() (st raftStats) {
	if s.node == nil {
		return st
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ns, err := s.node.Stats(ctx)
	if err != nil {
		return st
	}
	st.state, st.term, st.commit = float64(stateNumber(ns.State)), float64(ns.Term), float64(ns.CommitIndex)
	if !ns.LastContact.IsZero() {
		st.contact = time.Since(ns.LastContact).Seconds()
	}
	return st
}

// raftGauge is one gauge computed from a scrape's raftStats.
type raftGauge struct {
	desc  *prometheus.Desc
	value func(raftStats) float64
}

// raftCollector serves the Raft gauges from one Stats call per scrape.
type raftCollector struct {
	s      *Server
	gauges []raftGauge
}

func (c raftCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, g := range c.gauges {
		ch <- g.desc
	}
}

func (c raftCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.s.raftStats()
	for _, g := range c.gauges {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, g.value(st))
	}
}

func stateNumber(st raft.RaftState) int {
	switch st {
	case raft.Leader:
		return StateLeader
	case raft.Candidate:
		return StateCandidate
	}
	return StateFollower
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ready answers 200 only on a leader that has applied every earlier entry,
// so a TCP/HTTP load balancer finds the leader without a floating IP.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if s.node == nil {
		w.WriteHeader(http.StatusOK)
		w.Write([]byte("solo\n"))
		return
	}
	if !s.isReady(r.Context()) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("not leader\n"))
		return
	}
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("leader\n"))
}
