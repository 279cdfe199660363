package zone

import (
	"context"
	"fmt"

	"github.com/oneha/oneha/sqlfsm"
)

// Zone is a zone and its servers, as one.zone.info shows them.
type Zone struct {
	ID       int
	Name     string
	State    int // StateEnabled or StateDisabled
	Endpoint string
	// Template is the zone's template; ENDPOINT in it always equals
	// Endpoint (readZones fills it from oneha_zone_template, or with
	// ENDPOINT alone).
	Template Template
	Servers  []Server // by ID
}

// Server is one server of a zone.
type Server struct {
	ID             int
	Name, Endpoint string
}

// Info returns zone zoneID from the local database (a stale read: a
// follower may be behind the leader). ErrNoSuchZone when the zone row does
// not exist locally (yet).
func (m *Manager) Info(ctx context.Context, zoneID int) (Zone, error) {
	zs, err := m.readZones(ctx, sqlfsm.Stale, &zoneID)
	if err != nil {
		return Zone{}, fmt.Errorf("zone: info %d: %w", zoneID, err)
	}
	if len(zs) == 0 {
		return Zone{}, fmt.Errorf("zone: info: %w: %d", ErrNoSuchZone, zoneID)
	}
	return zs[0], nil
}

// Pool returns every zone of the local database, by ID (a stale read). A
// database without the zone tables has no zones.
func (m *Manager) Pool(ctx context.Context) ([]Zone, error) {
	zs, err := m.readZones(ctx, sqlfsm.Stale, nil)
	if err != nil {
		return nil, fmt.Errorf("zone: pool: %w", err)
	}
	return zs, nil
}

// readZones reads one zone (only != nil) or all, with their servers.
func (m *Manager) readZones(ctx context.Context, c sqlfsm.Consistency, only *int) ([]Zone, error) {
	for _, t := range []string{ZoneTable, ServerTable} {
		ok, err := m.tableExists(ctx, t)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, nil
		}
	}
	zq := `SELECT id, name, state, endpoint FROM oneha_zone ORDER BY id`
	sq := `SELECT zone_id, id, name, endpoint FROM oneha_server ORDER BY zone_id, id`
	var params []any
	if only != nil {
		zq = `SELECT id, name, state, endpoint FROM oneha_zone WHERE id = ? ORDER BY id`
		sq = `SELECT zone_id, id, name, endpoint FROM oneha_server WHERE zone_id = ? ORDER BY zone_id, id`
		params = []any{*only}
	}
	zrows, err := m.db.Query(ctx, c, zq, params...)
	if err != nil {
		return nil, fmt.Errorf("read zones: %w", err)
	}
	srows, err := m.db.Query(ctx, c, sq, params...)
	if err != nil {
		return nil, fmt.Errorf("read servers: %w", err)
	}
	var zs []Zone
	byID := map[int]int{}
	for _, r := range zrows.Rows {
		id, err1 := asInt(r[0])
		state, err2 := asInt(r[2])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("read zones: bad row %v", r)
		}
		byID[int(id)] = len(zs)
		zs = append(zs, Zone{ID: int(id), Name: asString(r[1]), State: int(state), Endpoint: asString(r[3]), Servers: []Server{}})
	}
	if err := m.readTemplates(ctx, c, zs, byID, only); err != nil {
		return nil, err
	}
	for _, r := range srows.Rows {
		zid, err1 := asInt(r[0])
		id, err2 := asInt(r[1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("read servers: bad row %v", r)
		}
		i, ok := byID[int(zid)]
		if !ok {
			continue // servers of a zone without a row: not shown
		}
		zs[i].Servers = append(zs[i].Servers, Server{ID: int(id), Name: asString(r[2]), Endpoint: asString(r[3])})
	}
	return zs, nil
}

// servers reads this server's zone at consistency c; ErrNoSuchZone when
// zoneID is not this server's zone or its row is missing.
func (m *Manager) servers(ctx context.Context, c sqlfsm.Consistency, zoneID int) (Zone, error) {
	if zoneID != m.cfg.ZoneID {
		return Zone{}, fmt.Errorf("%w: %d (this server manages zone %d)", ErrNoSuchZone, zoneID, m.cfg.ZoneID)
	}
	zs, err := m.readZones(ctx, c, &zoneID)
	if err != nil {
		return Zone{}, err
	}
	if len(zs) == 0 {
		return Zone{}, fmt.Errorf("%w: %d", ErrNoSuchZone, zoneID)
	}
	return zs[0], nil
}

// server returns the server with ID id, if any.
func (z Zone) server(id int) (Server, bool) {
	for _, s := range z.Servers {
		if s.ID == id {
			return s, true
		}
	}
	return Server{}, false
}

// readTemplates fills each zone's Template from oneha_zone_template (absent
// on a database written before it existed: ENDPOINT alone).
func (m *Manager) readTemplates(ctx context.Context, c sqlfsm.Consistency, zs []Zone, byID map[int]int, only *int) error {
	for i := range zs {
		zs[i].Template = Template{Attrs: []Attr{{Name: "ENDPOINT", Value: zs[i].Endpoint}}}
	}
	ok, err := m.tableExists(ctx, TemplateTable)
	if err != nil || !ok {
		return err
	}
	q := `SELECT zone_id, body FROM oneha_zone_template ORDER BY zone_id`
	var params []any
	if only != nil {
		q = `SELECT zone_id, body FROM oneha_zone_template WHERE zone_id = ?`
		params = []any{*only}
	}
	rows, err := m.db.Query(ctx, c, q, params...)
	if err != nil {
		return fmt.Errorf("read zone templates: %w", err)
	}
	for _, r := range rows.Rows {
		zid, err := asInt(r[0])
		if err != nil {
			return fmt.Errorf("read zone templates: bad row %v", r)
		}
		i, ok := byID[int(zid)]
		if !ok {
			continue
		}
		t, err := ParseTemplate(asString(r[1]))
		if err != nil {
			return fmt.Errorf("read template of zone %d: %w", zid, err)
		}
		t.Set("ENDPOINT", zs[i].Endpoint)
		zs[i].Template = t
	}
	return nil
}
