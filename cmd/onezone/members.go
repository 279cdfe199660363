package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/oneha/oneha/internal/cli"
)

// membersCmd is `onezone members` (OneHA's own): the Raft membership as the
// queried server sees it, so an operator can watch a joining server go from
// non-voter (catching up) to voter.
func (a *app) membersCmd() *cobra.Command {
	var asJSON bool
	var topts TableOptions
	cmd := &cobra.Command{
		Use:   "members",
		Short: "Show the Raft membership (voter or non-voter catching up) of the queried server",
		Args:  cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			zc, err := a.connect()
			if err != nil {
				return err
			}
			defer zc.Close()
			v, err := zc.read(cmd.Context(), "one.zone.members")
			if err != nil {
				return err
			}
			ms, err := parseMembers(v)
			if err != nil {
				return err
			}
			if asJSON {
				return cli.WriteJSON(a.stdout, ms)
			}
			topts.TTY = isTerminal(a.stdout)
			return renderMembers(a.stdout, ms, topts)
		},
	}
	addTableFlags(cmd, &topts)
	cmd.Flags().BoolVarP(&asJSON, "json", "j", false, "print JSON")
	return cmd
}

// Member is one Raft server.
type Member struct {
	ID      int64  `json:"ID"`
	Address string `json:"ADDRESS"`
	Voter   bool   `json:"VOTER"`
	// NotPromoted: why the leader keeps this non-voter from voting (its
	// database settings differ from the leader's); only from the leader.
	NotPromoted string `json:"NOT_PROMOTED,omitempty"`
}

func parseMembers(v any) ([]Member, error) {
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("one.zone.members: unexpected %T", v)
	}
	out := make([]Member, 0, len(items))
	for _, it := range items {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("one.zone.members: unexpected item %T", it)
		}
		id, _ := m["ID"].(int64)
		addr, _ := m["ADDRESS"].(string)
		voter, _ := m["VOTER"].(bool)
		why, _ := m["NOT_PROMOTED"].(string)
		out = append(out, Member{ID: id, Address: addr, Voter: voter, NotPromoted: why})
	}
	return out, nil
}

// membersTable follows OpenNebula's table conventions (padded header,
// columns as wide as needed).
func membersTable() Table {
	return Table{Cols: []Column{
		{Name: "ID", Desc: "Raft server ID", Size: 2, Adjust: true},
		{Name: "ADDRESS", Desc: "Raft address", Size: 7, Left: true, Adjust: true},
		{Name: "SUFFRAGE", Desc: "voter or non-voter", Size: 8, Left: true, Adjust: true},
	}}
}

func renderMembers(w io.Writer, ms []Member, o TableOptions) error {
	rows := make([][]string, 0, len(ms))
	for _, m := range ms {
		role := "non-voter"
		if m.Voter {
			role = "voter"
		}
		if m.NotPromoted != "" {
			role += " (not promoted: " + m.NotPromoted + ")"
		}
		rows = append(rows, []string{strconv.FormatInt(m.ID, 10), m.Address, role})
	}
	out, err := membersTable().Render(rows, o)
	if err != nil {
		return err
	}
	_, err = io.WriteString(w, out)
	return err
}
