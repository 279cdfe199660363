package oned

import (
	"context"
	"encoding/xml"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oneha/oneha/federation"
)

// fedLogIndex is FEDLOG_INDEX: this server's last federation index, -1 on
// a standalone zone (OpenNebula's value there).
func (s *Server) fedLogIndex(ctx context.Context) int64 {
	if s.fedMode() == federation.Standalone || s.fsm == nil {
		return -1
	}
	last, err := s.fsm.FedLast(ctx)
	if err != nil {
		return -1
	}
	return int64(last)
}

// one.zone.fedstatus (OneHA's own) → <FEDERATION>: this server's MODE,
// ZONE_ID, FEDLOG_INDEX and MASTER_ONED; on a slave the master zone's
// FEDLOG_INDEX as its leader reports it (MASTER_FEDLOG_INDEX, -1 when it
// cannot be reached) and BEHIND, the records this server lacks; on the
// master's leader each slave zone's stream: ZONE (ID, ACKED: the slave
// zone's last index as its last answer said, BEHIND, ERROR). onezone show
// prints it after OpenNebula's layout.
func (s *Server) fedStatus(ctx context.Context, _ []any) (any, error) {
	type slaveZone struct {
		ID     int    `xml:"ID"`
		Acked  int64  `xml:"ACKED"`
		Behind int64  `xml:"BEHIND"`
		Error  string `xml:"ERROR"`
	}
	type status struct {
		XMLName     xml.Name    `xml:"FEDERATION"`
		Mode        string      `xml:"MODE"`
		ZoneID      int         `xml:"ZONE_ID"`
		FedLogIndex int64       `xml:"FEDLOG_INDEX"`
		MasterOned  string      `xml:"MASTER_ONED,omitempty"`
		MasterIndex *int64      `xml:"MASTER_FEDLOG_INDEX,omitempty"`
		Behind      *int64      `xml:"BEHIND,omitempty"`
		Zones       []slaveZone `xml:"ZONE"`
	}
	st := status{Mode: s.fedMode(), ZoneID: s.cfg.Federation.ZoneID, FedLogIndex: s.fedLogIndex(ctx)}
	switch st.Mode {
	case federation.Slave:
		st.MasterOned = s.cfg.Federation.MasterOned
		m := s.masterFedIndex(ctx)
		st.MasterIndex = &m
		if m >= 0 {
			b := max(m-st.FedLogIndex, 0)
			st.Behind = &b
		}
	case federation.Master:
		if s.fedRep != nil && s.node != nil && s.node.IsLeader() {
			for _, z := range s.fedRep.Status() {
				st.Zones = append(st.Zones, slaveZone{ID: z.Zone, Acked: int64(z.Acked), Behind: max(st.FedLogIndex-int64(z.Acked), 0), Error: z.Err})
			}
			slices.SortFunc(st.Zones, func(a, b slaveZone) int { return a.ID - b.ID })
		}
	}
	b, err := xml.Marshal(st)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

var masterFedIndexRE = regexp.MustCompile(`<FEDLOG_INDEX>(-?\d+)</FEDLOG_INDEX>`)

// masterFedIndex is the master zone's FEDLOG_INDEX as MASTER_ONED answers
// one.zone.raftstatus (the VIP: its leader), -1 when it cannot be read.
func (s *Server) masterFedIndex(ctx context.Context) int64 {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	v, err := s.fedClient(s.cfg.Federation.MasterOned).CallONE(cctx, "one.zone.raftstatus", s.auth.session())
	if err != nil {
		return -1
	}
	doc, _ := v.(string)
	m := masterFedIndexRE.FindStringSubmatch(doc)
	if m == nil {
		return -1
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// fedCollector exports the master leader's stream to each slave zone:
// oneha_federation_slave_acked_index{zone} and
// oneha_federation_slave_stream_failing{zone} (1 while its last attempt
// failed). Nothing is exported by a follower or a slave.
type fedCollector struct {
	s             *Server
	acked, failed *prometheus.Desc
}

func newFedCollector(s *Server) *fedCollector {
	return &fedCollector{s: s,
		acked:  prometheus.NewDesc("oneha_federation_slave_acked_index", "A slave zone's last federation index, as its last answer to this master leader said.", []string{"zone"}, nil),
		failed: prometheus.NewDesc("oneha_federation_slave_stream_failing", "1 while the last attempt to send a slave zone its records failed.", []string{"zone"}, nil)}
}

func (c *fedCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.acked; ch <- c.failed }

func (c *fedCollector) Collect(ch chan<- prometheus.Metric) {
	if c.s.node == nil || !c.s.node.IsLeader() {
		return
	}
	for _, z := range c.s.fedRep.Status() {
		zone := strconv.Itoa(z.Zone)
		failing := 0.0
		if z.Err != "" {
			failing = 1
		}
		ch <- prometheus.MustNewConstMetric(c.acked, prometheus.GaugeValue, float64(z.Acked), zone)
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, failing, zone)
	}
}
