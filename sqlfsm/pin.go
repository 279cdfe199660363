package sqlfsm

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strings"
)

// A pin is a session variable that changes what a statement does (its result,
// its error, or the schema it creates) and the value every OneHA connection
// sets it to, whatever the server's global default. value is SQL text.
type pin struct{ name, value string }

// mysqlPins are set on every new connection (see pinConnector), so the apply
// connection of every server runs each entry under the same session. A pin
// whose variable the server does not have (MySQL vs MariaDB, versions) is
// skipped; the server's version is part of Fingerprint, so two servers that
// skip different pins never pass as equal. See DESIGN.md for why each one is
// here. Statements cannot change them: the checker refuses SET and @@.
var mysqlPins = []pin{
	// Time, locale and arithmetic.
	{"time_zone", "'+00:00'"},
	{"lc_time_names", "'en_US'"},
	{"lc_messages", "'en_US'"},
	{"div_precision_increment", "4"},
	{"default_week_format", "0"},
	// Strings and ordering.
	{"character_set_client", "'utf8mb4'"},
	{"character_set_connection", "'utf8mb4'"},
	{"character_set_results", "'utf8mb4'"},
	{"collation_connection", "'utf8mb4_general_ci'"},
	{"group_concat_max_len", "1048576"},
	{"max_sort_length", "1024"},
	{"default_regex_flags", "''"},
	{"block_encryption_mode", "'aes-128-ecb'"},
	{"old_mode", "'UTF8_IS_UTF8MB3'"},
	{"old_passwords", "0"},
	// Validation and errors.
	{"sql_mode", "'" + MySQLSQLMode + "'"},
	{"innodb_strict_mode", "1"},
	{"check_constraint_checks", "1"},
	{"foreign_key_checks", "1"},
	{"unique_checks", "1"},
	{"sql_auto_is_null", "0"},
	{"sql_safe_updates", "0"},
	{"sql_select_limit", "DEFAULT"},
	{"updatable_views_with_limit", "'YES'"},
	{"sql_big_selects", "1"},
	{"max_join_size", "DEFAULT"},
	{"sql_if_exists", "0"},
	{"sql_quote_show_create", "1"},
	{"standard_compliant_cte", "1"},
	// Bounds that make runaway work end the same way everywhere, and no
	// time limits (a timeout fires on one server and not another).
	{"max_recursive_iterations", "1000"},
	{"cte_max_recursion_depth", "1000"},
	{"max_statement_time", "0"},
	{"max_execution_time", "0"},
	{"max_sp_recursion_depth", "0"},
	// Keys, engines and DDL.
	{"auto_increment_increment", "1"},
	{"auto_increment_offset", "1"},
	{"default_storage_engine", "'InnoDB'"},
	{"default_tmp_storage_engine", "'InnoDB'"},
	{"enforce_storage_engine", "NULL"},
	{"explicit_defaults_for_timestamp", "1"},
	{"max_heap_table_size", "16777216"},
	{"alter_algorithm", "'DEFAULT'"},
	{"innodb_ft_enable_stopword", "1"},
	{"innodb_ft_user_stopword_table", "NULL"},
	// System-versioned tables.
	{"system_versioning_asof", "DEFAULT"},
	{"system_versioning_alter_history", "'ERROR'"},
	{"system_versioning_insert_history", "0"},
	// Transactions: COMMIT must not chain or disconnect (the fast path
	// commits inside its script).
	{"completion_type", "0"},
	{"transaction_isolation", "'REPEATABLE-READ'"},
	{"tx_isolation", "'REPEATABLE-READ'"},
	{"autocommit", "1"},
}

// pinConnector wraps the driver's connector: every connection it makes has
// mysqlPins set before database/sql hands it out, or is closed with an error.
type pinConnector struct{ driver.Connector }

// Connect opens a connection and pins its session.
func (c pinConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := pinSession(ctx, dc); err != nil {
		dc.Close()
		return nil, fmt.Errorf("pin session settings: %w", err)
	}
	return dc, nil
}

// pinSession sets every pin the server knows, in one SET.
func pinSession(ctx context.Context, dc driver.Conn) error {
	q, okQ := dc.(driver.QueryerContext)
	x, okX := dc.(driver.ExecerContext)
	if !okQ || !okX {
		return fmt.Errorf("driver connection %T cannot query", dc)
	}
	names := make([]string, len(mysqlPins))
	for i, p := range mysqlPins {
		names[i] = "'" + p.name + "'"
	}
	rows, err := q.QueryContext(ctx, "SHOW SESSION VARIABLES WHERE Variable_name IN ("+strings.Join(names, ",")+")", nil)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	vals := make([]driver.Value, len(rows.Columns()))
	for {
		err := rows.Next(vals)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			rows.Close()
			return err
		}
		known[strings.ToLower(asString(vals[0]))] = true
	}
	rows.Close()
	var b strings.Builder
	for _, p := range mysqlPins {
		if !known[p.name] {
			continue
		}
		if b.Len() == 0 {
			b.WriteString("SET SESSION ")
		} else {
			b.WriteString(", ")
		}
		b.WriteString(p.name + " = " + p.value)
	}
	if b.Len() == 0 {
		return errors.New("the server reports none of the session variables OneHA pins")
	}
	_, err = x.ExecContext(ctx, b.String(), nil)
	return err
}

func asString(v driver.Value) string {
	switch s := v.(type) {
	case []byte:
		return string(s)
	case string:
		return s
	}
	return fmt.Sprint(v)
}
