package oned

import (
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oneha/oneha/internal/stagetime"
)

// stageMetrics is oneha_write_stage_seconds: where one.sql.exec spends
// its time on this server, one series per stage (stagetime.Stage names).
// The observers are resolved once, so recording allocates nothing.
//
// Who records what: the XML-RPC server (http_read, xml_decode,
// response_encode) and wrap (auth; forward on a follower) for every
// one.sql.exec this server answers; sqlExec and sqlfsm (check, encode,
// raft_commit, leader_apply) on the leader; the Raft node for every entry
// it appends (raft_append on the leader, follower_append on a follower) and,
// on the leader, every AppendEntries round trip that carried entries
// (replication, one observation per entry per follower). The last three are
// batch times attributed to each entry of the batch, as leader_apply is.
type stageMetrics struct {
	vec *prometheus.HistogramVec
	obs [stagetime.NumStages]prometheus.Observer
}

// stageBuckets span 10 µs to about 1.3 s, √2 apart: a quantile
// interpolated within a bucket is off by at most 41% of its lower bound
// (with buckets 2× apart a p50 of 0.49 ms could be anywhere in 0.32–0.64).
var stageBuckets = prometheus.ExponentialBuckets(10e-6, math.Sqrt2, 35)

func newStageMetrics() *stageMetrics {
	m := &stageMetrics{vec: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "oneha_write_stage_seconds",
		Help: "Time one.sql.exec spends in each stage on this server: http_read, xml_decode, auth, forward (follower), " +
			"check, encode, raft_append, replication, raft_commit (append to apply start), leader_apply, response_encode; " +
			"follower_append on followers. Batch stages count once per entry.",
		Buckets: stageBuckets,
	}, []string{"stage"})}
	for s := range stagetime.NumStages {
		m.obs[s] = m.vec.WithLabelValues(s.String())
	}
	return m
}

// observe records the stages of an answered call when it is one.sql.exec
// (xmlrpc.Server.Stages).
func (m *stageMetrics) observe(method string, t *stagetime.Trace) {
	if method != "one.sql.exec" {
		return
	}
	t.Each(func(s stagetime.Stage, d time.Duration) { m.obs[s].Observe(d.Seconds()) })
}

// onAppend is raftlog.Config.OnAppend.
func (m *stageMetrics) onAppend(leader bool, entries int, d time.Duration) {
	o := m.obs[stagetime.FollowerAppend]
	if leader {
		o = m.obs[stagetime.RaftAppend]
	}
	for range entries {
		o.Observe(d.Seconds())
	}
}

// onReplicate is raftlog.Config.OnReplicate.
func (m *stageMetrics) onReplicate(entries int, d time.Duration) {
	for range entries {
		m.obs[stagetime.Replication].Observe(d.Seconds())
	}
}
