package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
	"sort"
	"strings"

	"github.com/oneha/oneha/sqlcheck"
)

// Checksum is a deterministic hash (hex SHA-256) of the database's contents,
// so tests can assert that replicas are identical. It covers every table's
// name, column names and rows and every view's name; not index definitions,
// table options or AUTO_INCREMENT counters. Rows are taken in primary-key
// order; a table without a primary key is hashed as the sorted list of its
// row digests (so ties in collation or sort order cannot matter). Values are
// canonical text: MySQL's text protocol (FLOAT widened to DOUBLE exactly);
// on SQLite the storage class plus the value. Options.Last is excluded when
// set. Generated columns are excluded (they derive from the others).
func Checksum(ctx context.Context, db *sql.DB, d sqlcheck.Dialect, opt Options) (string, error) {
	if err := validDialect(d); err != nil {
		return "", err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("backup: checksum: %w", err)
	}
	defer conn.Close()
	var cat *catalog
	if d == sqlcheck.MySQL {
		cat, err = mysqlCatalog(ctx, conn, opt.Last, false)
	} else {
		cat, err = sqliteCatalog(ctx, conn, opt.Last)
	}
	if err != nil {
		return "", fmt.Errorf("backup: checksum: %w", err)
	}
	h := sha256.New()
	tables := slices.Clone(cat.tables)
	sort.Slice(tables, func(i, j int) bool { return tables[i].name < tables[j].name })
	for _, t := range tables {
		if err := hashTable(ctx, conn, d, h, t); err != nil {
			return "", fmt.Errorf("backup: checksum %s: %w", t.name, err)
		}
	}
	views := make([]string, len(cat.views))
	for i, v := range cat.views {
		views[i] = v.name
	}
	sort.Strings(views)
	for _, v := range views {
		writeField(h, 'v', []byte(v))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// writeField writes a tagged, length-prefixed field, so no two different
// sequences of fields hash alike.
func writeField(h hash.Hash, tag byte, b []byte) {
	var n [binary.MaxVarintLen64 + 1]byte
	n[0] = tag
	l := binary.PutUvarint(n[1:], uint64(len(b)))
	h.Write(n[:1+l])
	h.Write(b)
}

func hashTable(ctx context.Context, conn *sql.Conn, d sqlcheck.Dialect, h hash.Hash, t *table) error {
	writeField(h, 't', []byte(t.name))
	for _, c := range t.cols {
		writeField(h, 'c', []byte(c.name))
	}
	if len(t.cols) == 0 {
		return nil
	}
	var q string
	if d == sqlcheck.MySQL {
		q = mysqlSelect(t)
	} else {
		tt := *t
		tt.rowid = "" // not content
		q = sqliteSelect(&tt)
	}
	if len(t.pk) > 0 {
		order := make([]string, len(t.pk))
		for i, c := range t.pk {
			order[i] = quoteIdent(d, c)
		}
		q += " ORDER BY " + strings.Join(order, ",")
	}
	rows, err := conn.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	var dest []any
	var mvals []rawValue
	var svals []sqliteValue
	if d == sqlcheck.MySQL {
		mvals = make([]rawValue, len(t.cols))
		for i := range mvals {
			dest = append(dest, &mvals[i])
		}
	} else {
		svals = make([]sqliteValue, len(t.cols))
		for i := range svals {
			dest = append(dest, &svals[i].typ, &svals[i].v)
		}
	}
	var digests [][]byte
	rh := sha256.New()
	var lit []byte
	err = scanAll(rows, func() error {
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		rh.Reset()
		for i := range mvals {
			if mvals[i].null {
				writeField(rh, 'N', nil)
			} else {
				writeField(rh, 'V', mvals[i].b)
			}
		}
		for i := range svals {
			var err error
			if lit, err = svals[i].appendLiteral(lit[:0]); err != nil {
				return err
			}
			writeField(rh, 'V', lit)
		}
		if len(t.pk) > 0 {
			writeField(h, 'r', rh.Sum(nil))
		} else {
			digests = append(digests, rh.Sum(nil))
		}
		return nil
	})
	if err != nil {
		return err
	}
	slices.SortFunc(digests, bytes.Compare)
	for _, dg := range digests {
		writeField(h, 'r', dg)
	}
	return nil
}

// TableSum is one table's digest in a Snapshot (see TableChecksums).
type TableSum struct {
	Table  string `json:"TABLE"`
	Digest string `json:"DIGEST"` // hex SHA-256, as one table's part of Checksum
}

// TableChecksums hashes every base table of the snapshot's view (Options.Last
// excluded) separately, as Checksum does for the whole database: column
// names and rows in primary-key order, canonical values. It reads the view
// Begin opened, so it may run long after Begin while writes go on. The
// result is sorted by table name.
func (s *Snapshot) TableChecksums(ctx context.Context) ([]TableSum, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	tables := slices.Clone(s.cat.tables)
	sort.Slice(tables, func(i, j int) bool { return tables[i].name < tables[j].name })
	out := make([]TableSum, 0, len(tables))
	h := sha256.New()
	for _, t := range tables {
		h.Reset()
		if err := hashTable(ctx, s.conn, s.d, h, t); err != nil {
			return nil, fmt.Errorf("backup: checksum %s: %w", t.name, err)
		}
		out = append(out, TableSum{Table: t.name, Digest: hex.EncodeToString(h.Sum(nil))})
	}
	return out, nil
}
