package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/spf13/cobra"
)

// ExitError is the exit code of OpenNebula's CLIs on any error.
const ExitError = 255

// Main runs root with args and returns the process exit code: 0, or
// ExitError after printing the error to stderr (with the command's usage
// line for a bad command line).
func Main(ctx context.Context, root *cobra.Command, args []string, stderr io.Writer) int {
	root.SetArgs(args)
	root.SilenceErrors = true
	root.SilenceUsage = true
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	})
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return 0
	}
	if errors.Is(err, ErrReported) {
		return ExitError
	}
	msg := strings.TrimPrefix(err.Error(), ErrUsage.Error()+": ")
	fmt.Fprintln(stderr, msg)
	if errors.Is(err, ErrUsage) || strings.HasPrefix(msg, "unknown command") {
		fmt.Fprintf(stderr, "Usage: %s\nRun '%s --help' for more information.\n", cmd.UseLine(), cmd.CommandPath())
	}
	return ExitError
}

// ErrReported is a failure the command has already told the user about
// (OpenNebula's CLI prints some errors on stdout): Main exits with
// ExitError and prints nothing more.
var ErrReported = errors.New("error already reported")

// ExactArgs is cobra.ExactArgs with a usage error naming the arguments.
func ExactArgs(n int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return fmt.Errorf("%w: %s takes %d argument(s) (%s), got %d", ErrUsage, cmd.Name(), n, strings.Join(names, " "), len(args))
		}
		return nil
	}
}

// MinArgs is cobra.MinimumNArgs with a usage error.
func MinArgs(n int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return fmt.Errorf("%w: %s needs at least %d argument(s) (%s), got %d", ErrUsage, cmd.Name(), n, strings.Join(names, " "), len(args))
		}
		return nil
	}
}

// RangeArgs is cobra.RangeArgs with a usage error naming the arguments.
func RangeArgs(lo, hi int, names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			return fmt.Errorf("%w: %s takes %d to %d argument(s) (%s), got %d", ErrUsage, cmd.Name(), lo, hi, strings.Join(names, " "), len(args))
		}
		return nil
	}
}

// Column describes one column of a fixed-layout table in OpenNebula's CLI
// style: values padded to Width, left-aligned unless Right, cut to Width
// when Truncate. The last column is never padded.
type Column struct {
	Header   string
	Width    int
	Right    bool
	Truncate bool
}

// Row formats one line of a fixed-layout table: cells separated by single
// spaces, no trailing blanks.
func Row(cols []Column, cells ...string) string {
	var b strings.Builder
	for i, c := range cols {
		v := ""
		if i < len(cells) {
			v = cells[i]
		}
		if c.Truncate {
			v = Truncate(v, c.Width)
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		pad := max(c.Width-utf8.RuneCountInString(v), 0)
		last := i == len(cols)-1
		switch {
		case c.Right:
			b.WriteString(strings.Repeat(" ", pad) + v)
		case last:
			b.WriteString(v)
		default:
			b.WriteString(v + strings.Repeat(" ", pad))
		}
	}
	return strings.TrimRight(b.String(), " ") + "\n"
}

// Header is Row of the column headers.
func Header(cols []Column) string {
	h := make([]string, len(cols))
	for i, c := range cols {
		h[i] = c.Header
	}
	return Row(cols, h...)
}

// Truncate cuts s to at most n runes, as OpenNebula's tables do.
func Truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// AutoTable renders headers and rows with each column as wide as its widest
// cell; right lists the columns to right-align.
func AutoTable(w io.Writer, headers []string, rows [][]string, right map[int]bool) error {
	cols := make([]Column, len(headers))
	for i, h := range headers {
		cols[i] = Column{Header: h, Width: utf8.RuneCountInString(h), Right: right[i]}
	}
	for _, r := range rows {
		for i := range cols {
			if i < len(r) {
				cols[i].Width = max(cols[i].Width, utf8.RuneCountInString(r[i]))
			}
		}
	}
	var b strings.Builder
	b.WriteString(Header(cols))
	for _, r := range rows {
		b.WriteString(Row(cols, r...))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes v as indented JSON and a newline.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Run is a command's whole main: it builds the root command on the
// process's stdout, stderr and environment, runs it with SIGINT/SIGTERM
// cancelling the context, and exits with Main's status.
func Run(newRoot func(stdout, stderr io.Writer, env func(string) string) *cobra.Command) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, newRoot(os.Stdout, os.Stderr, os.Getenv), os.Args[1:], os.Stderr)
	stop()
	os.Exit(code)
}
