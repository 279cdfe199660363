package sqlfsm

import (
	"database/sql"
	"reflect"
)

// partialResults returns the per-statement results the driver read before
// a multi-statement text failed, the failing statement's included (as
// zeros): rows[s] is the statement that failed, for s = len(rows)-1.
// go-sql-driver keeps them in the connection (mysqlConn.result, one entry
// per statement result, appended before the result is read) but returns
// only the error. ok is false when the driver is not laid out so (another
// driver version): the caller must not use the fast path then
// (New; TestFastPathAnswersAsTheEntryByEntryPath checks the indexes).
func partialResults(conn *sql.Conn) (rows, ids []int64, ok bool) {
	conn.Raw(func(dc any) error {
		rows, ids, ok = readPartial(dc)
		return nil
	})
	return rows, ids, ok
}

func readPartial(dc any) (rows, ids []int64, ok bool) {
	v := reflect.ValueOf(dc)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, nil, false
	}
	res := v.Elem().FieldByName("result")
	if res.Kind() != reflect.Struct {
		return nil, nil, false
	}
	a, b := res.FieldByName("affectedRows"), res.FieldByName("insertIds")
	if a.Kind() != reflect.Slice || b.Kind() != reflect.Slice ||
		a.Type().Elem().Kind() != reflect.Int64 || b.Type().Elem().Kind() != reflect.Int64 || a.Len() != b.Len() {
		return nil, nil, false
	}
	rows, ids = make([]int64, a.Len()), make([]int64, b.Len())
	for i := range rows {
		rows[i], ids[i] = a.Index(i).Int(), b.Index(i).Int()
	}
	return rows, ids, true
}
