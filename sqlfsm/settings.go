package sqlfsm

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Settings fingerprints what a server's database does with the same SQL:
// the server-level settings no session can pin (version, system time zone,
// time zone tables, server and database character sets, case sensitivity of
// table names, packet and page sizes, full-text parsing) and the effective
// values of the pinned session variables ("session." + name), read back from
// the apply connection. Two servers with equal Settings give replicated
// statements the same results; a joining server whose Settings differ from
// the leader's is not promoted (see zone.Manager).
type Settings map[string]string

// ApplySemantics numbers how this build applies log entries (which entry
// flags it knows, how it binds parameters). It is part of every Settings
// under ApplySemanticsKey, so a joining server built with other apply
// semantics is not promoted: it could apply the same entries differently
// (a request id it does not know, a time parameter bound as other text).
// Raise it with every change to what an entry does.
//
//	1: before request ids and SQL-datetime time parameters
//	2: request ids (flagRequest), time parameters bound as SQLDateTime
const ApplySemantics = 2

// ApplySemanticsKey is ApplySemantics' name in Settings.
const ApplySemanticsKey = "oneha.apply_semantics"

// mysqlGlobalSettings are read with SHOW GLOBAL VARIABLES; a name the server
// does not have is absent from the fingerprint.
var mysqlGlobalSettings = []string{
	"version",
	"system_time_zone",
	"character_set_server", "collation_server",
	"lower_case_table_names",
	"max_allowed_packet",
	"thread_stack",
	"innodb_page_size", "innodb_default_row_format", "innodb_autoinc_lock_mode",
	"ft_min_word_len", "ft_max_word_len", "ft_stopword_file", "ft_boolean_syntax",
	"innodb_ft_min_token_size", "innodb_ft_max_token_size", "innodb_ft_server_stopword_table",
	"secure_timestamp",
}

// mysqlProbes are expressions whose value depends on server state a variable
// does not show: the time zone tables (NULL without them) and what 'SYSTEM'
// means as an offset in summer and winter.
var mysqlProbes = []struct{ name, expr string }{
	{"probe.named_time_zones", "CONVERT_TZ('2024-07-01 12:00:00', 'UTC', 'Europe/Berlin')"},
	{"probe.system_time_zone_summer", "CONVERT_TZ('2024-07-01 12:00:00', 'SYSTEM', '+00:00')"},
	{"probe.system_time_zone_winter", "CONVERT_TZ('2024-01-01 12:00:00', 'SYSTEM', '+00:00')"},
}

// settings reads the fingerprint over x (the apply connection).
func (mysqlBackend) settings(ctx context.Context, x execer) (Settings, error) {
	out := Settings{}
	read := func(scope, prefix string, names []string) error {
		quoted := make([]string, len(names))
		for i, n := range names {
			quoted[i] = "'" + n + "'"
		}
		rows, err := x.QueryContext(ctx, "SHOW "+scope+" VARIABLES WHERE Variable_name IN ("+strings.Join(quoted, ",")+")")
		if err != nil {
			return fmt.Errorf("read %s settings: %w", strings.ToLower(scope), err)
		}
		defer rows.Close()
		for rows.Next() {
			var n, v string
			if err := rows.Scan(&n, &v); err != nil {
				return fmt.Errorf("read %s settings: %w", strings.ToLower(scope), err)
			}
			out[prefix+strings.ToLower(n)] = v
		}
		return rows.Err()
	}
	if err := read("GLOBAL", "", mysqlGlobalSettings); err != nil {
		return nil, err
	}
	session := []string{"character_set_database", "collation_database"}
	for _, p := range mysqlPins {
		session = append(session, p.name)
	}
	if err := read("SESSION", "session.", session); err != nil {
		return nil, err
	}
	for _, p := range mysqlProbes {
		var v *string
		if err := x.QueryRowContext(ctx, "SELECT "+p.expr).Scan(&v); err != nil {
			return nil, fmt.Errorf("read %s: %w", p.name, err)
		}
		out[p.name] = "NULL"
		if v != nil {
			out[p.name] = *v
		}
	}
	return out, nil
}

// settings of SQLite: the library is compiled into oned, so its version is
// all that can differ.
func (sqliteBackend) settings(ctx context.Context, x execer) (Settings, error) {
	var v string
	if err := x.QueryRowContext(ctx, "SELECT sqlite_version()").Scan(&v); err != nil {
		return nil, fmt.Errorf("read SQLite version: %w", err)
	}
	return Settings{"version": v}, nil
}

// Diff lists the settings on which s and ref differ (present in one only, or
// with different values), sorted, as "name: local=X, leader=Y" with
// "(unset)" for a missing one. Empty when they are equal.
func (s Settings) Diff(ref Settings) []string {
	keys := slices.Sorted(maps.Keys(s))
	for k := range ref {
		if _, ok := s[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		a, okA := s[k]
		b, okB := ref[k]
		if okA && okB && a == b {
			continue
		}
		if !okA {
			a = "(unset)"
		}
		if !okB {
			b = "(unset)"
		}
		out = append(out, fmt.Sprintf("%s: local=%s, leader=%s", k, a, b))
	}
	return out
}
