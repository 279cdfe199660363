package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/oneha/oneha/client"
	"github.com/oneha/oneha/internal/cli"
	"github.com/oneha/oneha/xmlrpc"
)

type app struct {
	stdin  io.Reader
	stdout io.Writer
	env    func(string) string
	conn   *cli.Connection
}

// newRootCmd builds the onesql command tree; stdin feeds --file -.
func newRootCmd(stdin io.Reader, stdout, stderr io.Writer, env func(string) string) *cobra.Command {
	root := &cobra.Command{
		Use:   "onesql",
		Short: "Run SQL on a OneHA zone (one.sql.exec / one.sql.query)",
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	a := &app{stdin: stdin, stdout: stdout, env: env, conn: cli.AddConnectionFlags(root)}
	a.conn.Warn = stderr
	root.AddCommand(a.execCmd(), a.queryCmd())
	return root
}

// ExecRequest is what `onesql exec` sends.
type ExecRequest struct {
	Statements []any // one.sql.exec's statement list
}

// Typed is the statement list as client Statements.
func (r ExecRequest) Typed() []client.Statement {
	out := make([]client.Statement, len(r.Statements))
	for i, s := range r.Statements {
		switch v := s.(type) {
		case string:
			out[i] = client.Stmt(v)
		case []any:
			sql, _ := v[0].(string) // Statements puts the SQL first
			out[i] = client.Stmt(sql, v[1:]...)
		}
	}
	return out
}

// BuildExec turns exec's command line into the statement list: a single
// statement with its parameters (positional or -p), or the statements of
// -e flags or a script, all in one transaction.
func BuildExec(args, exprs []string, script string, haveScript bool, params []string) (ExecRequest, error) {
	sources := 0
	for _, b := range []bool{len(args) > 0, len(exprs) > 0, haveScript} {
		if b {
			sources++
		}
	}
	if sources != 1 {
		return ExecRequest{}, fmt.Errorf("%w: give one statement, or -e flags, or --file (exactly one of them)", cli.ErrUsage)
	}
	if len(args) > 0 {
		if len(args) > 1 && len(params) > 0 {
			return ExecRequest{}, fmt.Errorf("%w: give parameters either after the statement or with -p, not both", cli.ErrUsage)
		}
		ps, err := ParseParams(append(args[1:], params...))
		if err != nil {
			return ExecRequest{}, err
		}
		return ExecRequest{Statements: Statements(args[:1], ps)}, nil
	}
	if len(params) > 0 {
		return ExecRequest{}, fmt.Errorf("%w: parameters only go with a single statement", cli.ErrUsage)
	}
	sqls := exprs
	if haveScript {
		var err error
		if sqls, err = SplitSQL(script); err != nil {
			return ExecRequest{}, fmt.Errorf("--file: %w", err)
		}
	}
	for i, s := range sqls {
		if strings.TrimSpace(s) == "" {
			return ExecRequest{}, fmt.Errorf("%w: statement %d is empty", cli.ErrUsage, i+1)
		}
	}
	if len(sqls) == 0 {
		return ExecRequest{}, fmt.Errorf("--file: no statements")
	}
	return ExecRequest{Statements: Statements(sqls, nil)}, nil
}

func (a *app) execCmd() *cobra.Command {
	var exprs, params []string
	var file, requestID string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   `exec ["SQL" [PARAM...]] [-e SQL]... [--file FILE] [--request-id ID]`,
		Short: "Run statements as one replicated transaction",
		Long: "Run one statement (with ? parameters), or several (-e flags, or a script with --file, - for stdin)\n" +
			"as a single transaction through one.sql.exec. Prints ROWS_AFFECTED and LAST_INSERT_ID per statement.\n" +
			"With --request-id the zone applies the transaction at most once: running the same command again\n" +
			"(after an OUTCOME UNKNOWN answer, a timeout, to any server) applies nothing and prints the first result.",
		RunE: func(cmd *cobra.Command, args []string) error {
			var script string
			haveScript := cmd.Flags().Changed("file")
			if haveScript {
				b, err := a.readFile(file)
				if err != nil {
					return err
				}
				script = string(b)
			}
			req, err := BuildExec(args, exprs, script, haveScript, params)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			defer c.Close()
			res, err := c.ExecRequest(cmd.Context(), requestID, req.Typed()...)
			if err != nil {
				return execHint(cli.ClientError(err), requestID)
			}
			if asJSON {
				return cli.WriteJSON(a.stdout, res)
			}
			rows := make([][]string, 0, len(res))
			for _, r := range res {
				rows = append(rows, []string{strconv.FormatInt(r.RowsAffected, 10), strconv.FormatInt(r.LastInsertID, 10)})
			}
			return cli.AutoTable(a.stdout, []string{"ROWS_AFFECTED", "LAST_INSERT_ID"}, rows, map[int]bool{0: true, 1: true})
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&exprs, "execute", "e", nil, "a statement of the transaction (repeatable, in order)")
	f.StringVarP(&file, "file", "f", "", "read the transaction's statements from FILE (- for stdin), separated by ;")
	f.StringArrayVarP(&params, "param", "p", nil, "a parameter of the single statement (repeatable): TEXT, int:N, float:X, bool:B, null:, hex:HEX, str:TEXT")
	f.BoolVarP(&asJSON, "json", "j", false, "print JSON")
	f.StringVar(&requestID, "request-id", "", "make the transaction idempotent under this id (1-128 of A-Z a-z 0-9 . _ : @ -)")
	return cmd
}

// execHint adds what to do next to an exec failure whose outcome is
// unknown, and says when retrying is safe.
func execHint(err error, requestID string) error {
	switch {
	case errors.Is(err, client.ErrOutcomeUnknown) && requestID != "":
		return fmt.Errorf("%w\nrun the same command again (same --request-id %s): it applies the transaction at most once and prints its result", err, requestID)
	case errors.Is(err, client.ErrOutcomeUnknown):
		return fmt.Errorf("%w\nthe transaction may or may not be applied: check before running it again, or use --request-id next time", err)
	case errors.Is(err, client.ErrNotApplied) || xmlrpc.RetrySafe(err):
		return fmt.Errorf("%w\nnothing was applied: running the command again is safe", err)
	}
	return err
}

func (a *app) queryCmd() *cobra.Command {
	var params []string
	var consistency string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   `query [--consistency stale|default|strong] "SQL" [PARAM...]`,
		Short: "Run a read-only statement",
		Args:  cli.MinArgs(1, "SQL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 && len(params) > 0 {
				return fmt.Errorf("%w: give parameters either after the statement or with -p, not both", cli.ErrUsage)
			}
			c, err := ParseConsistency(consistency)
			if err != nil {
				return err
			}
			ps, err := ParseParams(append(args[1:], params...))
			if err != nil {
				return err
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			defer cl.Close()
			q, err := cl.Query(cmd.Context(), client.Consistency(c), args[0], ps...)
			if err != nil {
				return cli.ClientError(err)
			}
			if asJSON {
				return cli.WriteJSON(a.stdout, q)
			}
			cells, right := QueryTable(q)
			return cli.AutoTable(a.stdout, q.Columns, cells, right)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&consistency, "consistency", "c", "default", "read consistency: stale (local), default (leader lease) or strong (read index)")
	f.StringArrayVarP(&params, "param", "p", nil, "a parameter (repeatable): TEXT, int:N, float:X, bool:B, null:, hex:HEX, str:TEXT")
	f.BoolVarP(&asJSON, "json", "j", false, "print JSON: {columns, rows}; NULL is null, binary is base64")
	return cmd
}

// ParseConsistency checks a read consistency name.
func ParseConsistency(s string) (string, error) {
	switch c := strings.ToLower(strings.TrimSpace(s)); c {
	case "stale", "default", "strong":
		return c, nil
	case "":
		return "default", nil
	}
	return "", fmt.Errorf("%w: --consistency %q: want stale, default or strong", cli.ErrUsage, s)
}

// client opens the zone client of the connection flags.
func (a *app) client() (*client.Client, error) {
	s, err := a.conn.Session(a.env)
	if err != nil {
		return nil, err
	}
	return s.Client()
}

func (a *app) readFile(name string) ([]byte, error) {
	if name == "-" {
		b, err := io.ReadAll(a.stdin)
		if err != nil {
			return nil, fmt.Errorf("read stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("--file: %w", err)
	}
	return b, nil
}
