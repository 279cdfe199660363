package main

import (
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/oneha/oneha/internal/cli"
)

// historyCmd is `onezone history ZONEID` (OneHA's own): the zone's
// leadership changes, oldest first, from the replicated history.
func (a *app) historyCmd() *cobra.Command {
	var asJSON bool
	var topts TableOptions
	cmd := &cobra.Command{
		Use:   "history ZONEID",
		Short: "Show the zone's leadership changes (time, term, old and new leader, reason)",
		Args:  cli.ExactArgs(1, "ZONEID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			zc, id, err := a.zoneConnect(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer zc.Close()
			v, err := zc.read(cmd.Context(), "one.zone.history", id)
			if err != nil {
				return err
			}
			hs, err := parseHistory(v)
			if err != nil {
				return err
			}
			if asJSON {
				return cli.WriteJSON(a.stdout, hs)
			}
			topts.TTY = isTerminal(a.stdout)
			return renderHistory(a.stdout, hs, topts)
		},
	}
	addTableFlags(cmd, &topts)
	cmd.Flags().BoolVarP(&asJSON, "json", "j", false, "print JSON")
	return cmd
}

// LeaderChange is one row of the leadership history.
type LeaderChange struct {
	Term      int64     `json:"term"`
	Time      time.Time `json:"time"`
	OldLeader int64     `json:"old_leader"` // -1: none recorded before
	NewLeader int64     `json:"new_leader"`
	Reason    string    `json:"reason"`
}

func parseHistory(v any) ([]LeaderChange, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("one.zone.history: unexpected %T", v)
	}
	out := make([]LeaderChange, 0, len(items))
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("one.zone.history: unexpected item %T", it)
		}
		term, _ := m["TERM"].(int64)
		ms, _ := m["TIME"].(int64)
		old, _ := m["OLD_LEADER"].(int64)
		nw, _ := m["NEW_LEADER"].(int64)
		reason, _ := m["REASON"].(string)
		out = append(out, LeaderChange{Term: term, Time: time.UnixMilli(ms).UTC(), OldLeader: old, NewLeader: nw, Reason: reason})
	}
	return out, nil
}

// historyTable follows OpenNebula's table conventions (padded header,
// columns as wide as needed).
func historyTable() Table {
	return Table{Cols: []Column{
		{Name: "TIME", Desc: "When the leader changed (UTC)", Size: 23, Left: true, Adjust: true},
		{Name: "TERM", Desc: "Raft term", Size: 4, Adjust: true},
		{Name: "OLD", Desc: "Previous leader", Size: 3, Adjust: true},
		{Name: "NEW", Desc: "New leader", Size: 3, Adjust: true},
		{Name: "REASON", Desc: "Why", Size: 6, Left: true, Adjust: true},
	}}
}

func renderHistory(w io.Writer, hs []LeaderChange, o TableOptions) error {
	rows := make([][]string, 0, len(hs))
	for _, h := range hs {
		old := "-"
		if h.OldLeader >= 0 {
			old = strconv.FormatInt(h.OldLeader, 10)
		}
		rows = append(rows, []string{h.Time.Format("2006-01-02 15:04:05.000"), strconv.FormatInt(h.Term, 10), old, strconv.FormatInt(h.NewLeader, 10), h.Reason})
	}
	out, err := historyTable().Render(rows, o)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, out)
	return err
}
