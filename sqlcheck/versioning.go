package sqlcheck

// MariaDB system versioning stamps each row version with a ROW START and a
// ROW END value. With TIMESTAMP(6) columns the stamps come from the
// statement's timestamp, which the apply connection pins per entry. With
// BIGINT UNSIGNED columns they are transaction ids from each server's own
// transaction registry, which differ between servers.

const reasonTrxVersioning = "BIGINT ROW START/END columns store each server's own transaction ids; use TIMESTAMP(6) for system versioning"

// checkRowStart refuses "AS ROW START" / "AS ROW END" (the ROW token at i)
// unless the column it defines has the type TIMESTAMP. The column
// definition is found backwards from i: it starts after '(' or ',' of the
// same depth, or after ADD/MODIFY/CHANGE [COLUMN] [IF [NOT] EXISTS] [old].
// A PERIOD FOR SYSTEM_TIME can only name such columns, so checking them
// checks the period too.
func (s *stmt) checkRowStart(i int) error {
	if !s.kw(i-1, "AS") || !s.kw(i+1, "START", "END") {
		return nil
	}
	construct := "AS ROW " + s.toks[i+1].Value
	k := s.depth[i]
	start := i
	for start > 0 && s.depth[start-1] >= k && !(s.depth[start-1] == k && s.punct(start-1, ",")) {
		start--
	}
	j := start
	change := false
	for {
		switch {
		case s.kw(j, "ALTER") && s.kw(j+1, "TABLE"):
			j += 2
			if s.isName(j) {
				j++
			}
		case s.kw(j, "ADD", "MODIFY", "COLUMN"):
			j++
		case s.kw(j, "CHANGE"):
			change = true
			j++
		case s.kw(j, "IF") && s.kw(j+1, "NOT") && s.kw(j+2, "EXISTS"):
			j += 3
		case s.kw(j, "IF") && s.kw(j+1, "EXISTS"):
			j += 2
		default:
			goto column
		}
	}
column:
	if change {
		j++ // the old name
	}
	// j is the column name, j+1 its type.
	if j+1 >= i || !s.isName(j) || !s.kw(j+1, "TIMESTAMP") {
		return unsafe(construct+" on a non-TIMESTAMP column", reasonTrxVersioning)
	}
	return nil
}

// checkSystemTimeTrx refuses FOR SYSTEM_TIME ... TRANSACTION n, which
// selects row versions by each server's own transaction ids.
func (s *stmt) checkSystemTimeTrx() error {
	sysTime := false
	for i := range s.toks {
		if s.kw(i, "SYSTEM_TIME") && !s.punct(i-1, ".") {
			sysTime = true
		}
		if sysTime && s.kw(i, "TRANSACTION") && s.kw(i-1, "OF", "FROM", "BETWEEN", "AND", "TO") {
			return unsafe("FOR SYSTEM_TIME ... TRANSACTION", reasonTrxVersioning)
		}
	}
	return nil
}
