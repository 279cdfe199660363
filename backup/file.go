package backup

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/oneha/oneha/sqlcheck"
)

// Verify reads a whole dump and checks its header and end line (length and
// CRC-32C) without loading it; it returns the header. ErrNotDump,
// ErrTruncated or ErrCorrupt say what is wrong. Memory is constant.
func Verify(r io.Reader) (Header, error) {
	vr := newVerifyReader(r)
	h, err := ReadHeader(vr)
	if err != nil {
		return Header{}, err
	}
	if _, err := io.Copy(io.Discard, vr); err != nil {
		return h, fmt.Errorf("backup: verify: %w", err)
	}
	if err := vr.check(); err != nil {
		return h, err
	}
	return h, nil
}

// FileName is the name OpenNebula's onedb backup gives a dump taken at t
// (local time, fields not zero-padded): mysql_<server>_<db>_<Y>-<m>-<d>_<H>:<M>:<S>.sql,
// or sqlite_<Y>-<m>-<d>_<H>:<M>:<S>.sql. server and db are ignored for SQLite.
func FileName(d sqlcheck.Dialect, server, db string, t time.Time) string {
	return filePrefix(d, server, db) + stamp(t) + ".sql"
}

// FederatedFileName is FileName with OpenNebula's marker for a dump of the
// federated tables (onedb backup --federated): "federated_" before the
// time. Dumps never lists such files.
func FederatedFileName(d sqlcheck.Dialect, server, db string, t time.Time) string {
	return filePrefix(d, server, db) + "federated_" + stamp(t) + ".sql"
}

func filePrefix(d sqlcheck.Dialect, server, db string) string {
	if d == sqlcheck.MySQL {
		return "mysql_" + server + "_" + db + "_"
	}
	return "sqlite_"
}

// stampLayout parses stamp's output (Go's 1, 15, 4 and 5 accept one or
// two digits).
const stampLayout = "2006-1-2_15:4:5"

func stamp(t time.Time) string {
	return fmt.Sprintf("%d-%d-%d_%d:%d:%d", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute(), t.Second())
}

// Dumps lists the files in dir that FileName names for (d, server, db),
// oldest first by the time in their name (the file's modification time
// breaks ties and orders names from another time zone consistently).
// Other files are never listed, so rotation cannot touch them.
func Dumps(dir string, d sqlcheck.Dialect, server, db string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("backup: list %s: %w", dir, err)
	}
	prefix := filePrefix(d, server, db)
	type dump struct {
		path string
		at   time.Time
		mod  time.Time
	}
	var ds []dump
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".sql") {
			continue
		}
		at, err := time.ParseInLocation(stampLayout, strings.TrimSuffix(strings.TrimPrefix(name, prefix), ".sql"), time.Local)
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		ds = append(ds, dump{filepath.Join(dir, name), at, info.ModTime()})
	}
	sort.SliceStable(ds, func(i, j int) bool {
		if !ds[i].at.Equal(ds[j].at) {
			return ds[i].at.Before(ds[j].at)
		}
		return ds[i].mod.Before(ds[j].mod)
	})
	out := make([]string, len(ds))
	for i, x := range ds {
		out[i] = x.path
	}
	return out, nil
}
