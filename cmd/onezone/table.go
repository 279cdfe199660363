package main

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
)

// ErrColumn: a --list, --adjust, --size or --filter names a column the
// table does not have.
var ErrColumn = errors.New("column not defined")

// Column is one column of an OpenNebula CLI table (CLIHelper::ShowTable):
// Size characters wide, right-aligned unless Left, cut at Size unless
// Adjust.
type Column struct {
	Name   string // upper case, as --list and the header spell it
	Desc   string // --describe
	Size   int
	Left   bool
	Adjust bool
}

// Table is a table definition (columns in their default order).
type Table struct {
	Cols []Column
}

// TableOptions are CLIHelper's list options that OneHA supports.
type TableOptions struct {
	List     []string // -l: columns to show, in this order
	CSV      bool
	CSVDel   string
	NoHeader bool
	Adjust   []string // --adjust: do not truncate these
	Size     []string // --size NAME=N
	Filter   []string // --filter NAME<op>VALUE
	Operator string   // --operator AND|OR
	Describe bool
	// TTY: the output is a terminal: headers bold and underlined, the
	// STAT column coloured, as OpenNebula does.
	TTY bool
}

// addTableFlags registers CLIHelper::OPTIONS that OneHA implements
// (--listconf, --delay, --expand and paging are not).
func addTableFlags(cmd *cobra.Command, o *TableOptions) {
	f := cmd.Flags()
	f.StringSliceVarP(&o.List, "list", "l", nil, "Selects columns to display with list command")
	f.BoolVar(&o.CSV, "csv", false, "Write table in csv format")
	f.StringVar(&o.CSVDel, "csv-del", ",", "Set delimiter for csv output")
	f.BoolVar(&o.NoHeader, "no-header", false, "Hides the header of the table")
	f.StringSliceVar(&o.Adjust, "adjust", nil, "Adjust size to not truncate selected columns")
	f.StringSliceVarP(&o.Size, "size", "s", nil, "Change the size of selected columns, e.g. --size name=20")
	f.StringSliceVarP(&o.Filter, "filter", "f", nil, "Filter data: column=value pairs; operators =,!=,<,<=,>,>=,~ (substring)")
	f.StringVar(&o.Operator, "operator", "AND", "Logical operator used on filters: AND, OR")
	f.BoolVar(&o.Describe, "describe", false, "Describe list columns")
	f.Bool("no-pager", false, "Disable pagination (OneHA never pages)")
	f.BoolP("numeric", "n", false, "Do not translate user and group IDs (no effect on zones)")
}

func (t Table) index(name string) int {
	return slices.IndexFunc(t.Cols, func(c Column) bool { return c.Name == name })
}

// Describe is --describe: "NAME                : description" per column.
func (t Table) Describe() string {
	var b strings.Builder
	for _, c := range t.Cols {
		fmt.Fprintf(&b, "%-20s: %-20s\n", c.Name, c.Desc)
	}
	return b.String()
}

// Render prints rows (one cell per column of t, in t's order) as
// CLIHelper::ShowTable#show does: header (padded, not trimmed), rows
// (trailing blanks trimmed), or CSV.
func (t Table) Render(rows [][]string, o TableOptions) (string, error) {
	cols := slices.Clone(t.Cols)
	show := make([]int, 0, len(cols))
	if len(o.List) > 0 {
		for _, n := range o.List {
			i := t.index(strings.ToUpper(strings.TrimSpace(n)))
			if i < 0 {
				return "", fmt.Errorf("%w: Column %s not defined.", ErrColumn, strings.ToUpper(n))
			}
			show = append(show, i)
		}
	} else {
		for i := range cols {
			show = append(show, i)
		}
	}
	rows, err := t.filter(rows, o)
	if err != nil {
		return "", err
	}
	adjust := slices.Clone(o.Adjust)
	for _, c := range cols {
		if c.Adjust {
			adjust = append(adjust, c.Name)
		}
	}
	for _, n := range adjust {
		i := t.index(strings.ToUpper(n))
		if i < 0 {
			return "", fmt.Errorf("%w: Column %s not defined.", ErrColumn, strings.ToUpper(n))
		}
		widest := 0
		for _, r := range rows {
			widest = max(widest, utf8.RuneCountInString(r[i]))
		}
		if widest > cols[i].Size {
			cols[i].Adjust, cols[i].Size = true, widest
		}
	}
	for _, s := range o.Size {
		name, n, _ := strings.Cut(s, "=")
		i := t.index(strings.ToUpper(name))
		if i < 0 {
			return "", fmt.Errorf("%w: Column %s not defined.", ErrColumn, strings.ToUpper(name))
		}
		size, _ := strconv.Atoi(n) // Ruby's to_i: garbage is 0
		cols[i].Adjust, cols[i].Size = false, max(size, 0)
	}

	var b strings.Builder
	if o.CSV {
		if !o.NoHeader {
			names := make([]string, len(show))
			for k, i := range show {
				names[k] = cols[i].Name
			}
			b.WriteString(csvLine(names, o.CSVDel, false))
		}
		for _, r := range rows {
			cells := make([]string, len(show))
			for k, i := range show {
				cells[k] = r[i]
			}
			b.WriteString(csvLine(cells, o.CSVDel, true))
		}
		return b.String(), nil
	}
	if !o.NoHeader {
		cells := make([]string, len(show))
		for k, i := range show {
			cells[k] = cols[i].format(cols[i].Name)
		}
		b.WriteString(header(strings.Join(cells, " "), true, o.TTY))
	}
	for _, r := range rows {
		cells := make([]string, len(show))
		for k, i := range show {
			cells[k] = cols[i].format(r[i])
			if o.TTY && cols[i].Name == "STAT" {
				cells[k] = colorState(cells[k])
			}
		}
		b.WriteString(strings.TrimRight(strings.Join(cells, " "), " \t\n\r\f\v\x00") + "\n")
	}
	return b.String(), nil
}

// format is Ruby's "%-N.Ns" / "%N.Ns" (or "%N s" for an adjusted column),
// counting characters.
func (c Column) format(s string) string {
	if !c.Adjust && utf8.RuneCountInString(s) > c.Size {
		s = string([]rune(s)[:c.Size])
	}
	pad := strings.Repeat(" ", max(0, c.Size-utf8.RuneCountInString(s)))
	if c.Left {
		return s + pad
	}
	return pad + s
}

// header is CLIHelper.print_header: the string as given, bold (and
// underlined) on a terminal, then a newline.
func header(s string, underline, tty bool) string {
	if !tty {
		return s + "\n"
	}
	u := ""
	if underline {
		u = "\x1b[4m"
	}
	return "\x1b[1m" + u + s + "\x1b[0m\n"
}

// colorState is CLIHelper.color_state for the states a zone has ("on" is
// green, "off" as is).
func colorState(s string) string {
	switch strings.TrimSpace(s) {
	case "on":
		return "\x1b[32m" + s + "\x1b[0m"
	case "err", "error":
		return "\x1b[31m" + s + "\x1b[0m"
	}
	return s
}

// csvLine is Ruby's CSV.generate_line: a field is quoted when it holds the
// separator, a quote, CR or LF, and an empty string is written "" (a nil
// cell, like the header's, would be empty: OpenNebula's cells are strings).
func csvLine(fields []string, del string, quoteEmpty bool) string {
	out := make([]string, len(fields))
	for i, f := range fields {
		switch {
		case f == "" && quoteEmpty:
			out[i] = `""`
		case strings.Contains(f, del) || strings.ContainsAny(f, "\"\r\n"):
			out[i] = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
		default:
			out[i] = f
		}
	}
	return strings.Join(out, del) + "\n"
}

var filterRe = regexp.MustCompile(`^(.*?)(=|!=|<|<=|>|>=|~)(.*?)$`)

// filter is CLIHelper's --filter: NAME<op>VALUE, compared as strings,
// combined with --operator (AND by default).
func (t Table) filter(rows [][]string, o TableOptions) ([][]string, error) {
	if len(o.Filter) == 0 {
		return rows, nil
	}
	type stem struct {
		i      int
		op, rv string
	}
	var stems []stem
	for _, f := range o.Filter {
		m := filterRe.FindStringSubmatch(f)
		if m == nil {
			return nil, fmt.Errorf("%w: Expression '%s' incorrect", ErrColumn, f)
		}
		i := t.index(strings.ToUpper(m[1]))
		if i < 0 {
			return nil, fmt.Errorf("%w: Column '%s' not found", ErrColumn, m[1])
		}
		op, rv := m[2], m[3]
		// Ruby's alternation tries "<" before "<=": "A<=1" is "<" with "=1".
		stems = append(stems, stem{i, op, rv})
	}
	or := strings.EqualFold(o.Operator, "OR")
	var out [][]string
	for _, r := range rows {
		pass := true
		for _, s := range stems {
			v := r[s.i]
			var ok bool
			switch s.op {
			case "=":
				ok = v == s.rv
			case "!=":
				ok = v != s.rv
			case "<":
				ok = v < s.rv
			case "<=":
				ok = v <= s.rv
			case ">":
				ok = v > s.rv
			case ">=":
				ok = v >= s.rv
			case "~":
				ok = strings.Contains(v, s.rv)
			}
			if ok {
				if or {
					pass = true
					break
				}
			} else {
				pass = false
				if !or {
					break
				}
			}
		}
		if pass {
			out = append(out, r)
		}
	}
	return out, nil
}
