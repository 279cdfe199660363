package oned

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"time"

	"github.com/oneha/oneha/hooks"
	"github.com/oneha/oneha/vip"
)

// startLeadership wires leadership transitions to the floating IP and the
// RAFT_LEADER_HOOK / RAFT_FOLLOWER_HOOK commands (package hooks): follower
// actions at start (clearing a VIP left by a crash), on every step-down,
// transfer, lease loss and at shutdown; leader actions on election. The
// leader re-announces its VIP periodically.
func (s *Server) startLeadership(ctx context.Context) error {
	if len(s.cfg.VIP) > 0 {
		v, err := vip.New(s.cfg.VIPConfigs(), s.log)
		if err != nil {
			return err
		}
		s.vip = v
	}
	hc := hooks.Config{
		Leader:   hooks.Command{Command: s.cfg.LeaderHook.Command, Arguments: s.cfg.LeaderHook.Arguments},
		Follower: hooks.Command{Command: s.cfg.FollowerHook.Command, Arguments: s.cfg.FollowerHook.Arguments},
		Dir:      s.cfg.HooksDir,
		Timeout:  time.Duration(s.cfg.HookTimeoutMS) * time.Millisecond,
		Logger:   s.log,
	}
	if s.vip != nil {
		hc.VIP = s.vip
	}
	r, err := hooks.New(hc)
	if err != nil {
		return err
	}
	s.hooks = r
	ch, cancel := s.node.Subscribe()
	s.bg.Add(2)
	go func() {
		defer s.bg.Done()
		defer cancel()
		r.Run(ctx, ch)
	}()
	go func() {
		defer s.bg.Done()
		s.reannounce(ctx)
	}()
	return nil
}

// reannounce repeats the leader's gratuitous ARP / NA every 10 s so
// neighbours that missed the bursts still learn where the VIP lives.
func (s *Server) reannounce(ctx context.Context) {
	if s.vip == nil {
		return
	}
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if s.node.IsLeader() && s.hooks.Role() == hooks.Leader {
				if err := s.vip.Announce(ctx); err != nil {
					s.log.Warn("vip re-announce", "err", err)
				}
			}
		}
	}
}

func (s *Server) hookStats() (runs, failures uint64) {
	if s.hooks == nil {
		return 0, 0
	}
	return s.hooks.Stats()
}

func (s *Server) vipHeld() bool {
	if s.vip == nil {
		return false
	}
	held, err := s.vip.Held()
	return err == nil && held
}

// statusJSON (GET /status) shows this server's Raft status, the floating IP
// and the last leadership actions with their exit status and output tail,
// to oneadmin and zone peers only (statusAuthorized); others get 401 and
// statusPublic's subset.
func (s *Server) statusJSON(w http.ResponseWriter, r *http.Request) {
	if !s.statusAuthorized(r) {
		s.statusPublic(w, r)
		return
	}
	st, err := s.status(r.Context())
	out := map[string]any{"RAFT": st, "VIP_HELD": s.vipHeld(), "VERSION": Version}
	if err != nil {
		out["ERROR"] = err.Error()
	}
	if s.cfg.InsecureRaft && s.node != nil {
		out["INSECURE_RAFT"] = true
	}
	if s.fsm != nil {
		out["APPLIED_INDEX"] = s.fsm.AppliedIndex()
		if d := cmp.Or(s.fsm.Degraded(), s.fsm.Stalled()); d != nil {
			out["DEGRADED"] = d.Error()
		}
		out["DB_SETTINGS"] = s.fsm.Settings()
		audit := map[string]any{"INTERVAL": s.fsm.AuditInterval(), "DIVERGED": s.auditW.Diverged(), "COMPARED": s.auditW.Compared()}
		if a := s.fsm.Audits(); len(a) > 0 {
			audit["LAST_INDEX"] = a[len(a)-1].Index
		}
		out["AUDIT"] = audit
	}
	if s.zone != nil {
		if b := s.zone.PromotionBlocked(); len(b) > 0 {
			out["DB_SETTINGS_MISMATCH"] = b // leader: joiners it will not promote, and why
		}
	}
	out["HOOK_RUNS"] = []hooks.Run{}
	if s.hooks != nil {
		if runs := s.hooks.Runs(); len(runs) > 0 {
			out["HOOK_RUNS"] = runs
		}
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(out)
}

// VIPConfigs maps every entry of the VIP key to package vip's config.
func (c Config) VIPConfigs() []vip.Config {
	var cfgs []vip.Config
	for _, v := range c.VIP {
		cfgs = append(cfgs, VIPConfigFor(v))
	}
	return cfgs
}

// VIPConfigFor maps a VIP config entry to package vip's config. IPv4
// addresses get the label IFACE:vip (cut to the kernel's 15 bytes), so
// `ip address` shows which address is the floating one.
func VIPConfigFor(v VIPConfig) vip.Config {
	c := vip.Config{Interface: v.Interface, Address: v.Address}
	if p, err := netip.ParsePrefix(v.Address); err == nil && p.Addr().Is4() {
		c.Label = v.Interface + ":vip"
		if len(c.Label) > 15 {
			c.Label = c.Label[:15]
		}
	}
	return c
}
