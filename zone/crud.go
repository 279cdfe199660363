package zone

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/oneha/oneha/sqlfsm"
)

// Zone management (OpenNebula's one.zone.allocate, update, rename, delete).
// Every change is one log entry written by the leader (or solo server)
// under the Manager's mutex, after checks against its applied state; rows
// live in oneha_zone and oneha_zone_template, which clients cannot write.

// FirstUserZoneID: OpenNebula reserves zone IDs below 100 for system zones;
// allocated zones get max(99, highest ID) + 1 and system zones cannot be
// deleted.
const FirstUserZoneID = 100

// Sentinel errors of zone management; messages are oned's.
var (
	// ErrZoneName: the name is empty, too long, has a character oned
	// refuses (&|:\";/'#{}$<>) or a control character.
	ErrZoneName = errors.New("Invalid NAME")
	// ErrZoneNameTaken: another zone has the name.
	ErrZoneNameTaken = errors.New("zone name taken")
	// ErrNoEndpoint: one.zone.allocate without ENDPOINT.
	ErrNoEndpoint = errors.New("ENDPOINT not present in template.")
	// ErrSystemZone: zones with ID < 100 cannot be deleted.
	ErrSystemZone = errors.New("System Zones (ID < 100) cannot be deleted.")
)

// invalidNameChars are PoolObjectSQL::INVALID_NAME_CHARS.
const invalidNameChars = "&|:\\\";/'#{}$<>"

// ValidateZoneName applies oned's name_is_valid rules (plus: no control
// characters), with oned's messages.
func ValidateZoneName(name string) error {
	if name == "" {
		return fmt.Errorf("%w, it cannot be empty", ErrZoneName)
	}
	if i := strings.IndexAny(name, invalidNameChars); i >= 0 {
		return fmt.Errorf("%w, char '%c' is not allowed", ErrZoneName, name[i])
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w, control characters are not allowed", ErrZoneName)
		}
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("%w, max length is %d chars", ErrZoneName, maxNameLen)
	}
	return nil
}

const (
	sqlAllocZone      = `INSERT INTO oneha_zone (id, name, state, endpoint) VALUES (?, ?, ?, ?)`
	sqlPutTemplate    = `INSERT INTO oneha_zone_template (zone_id, body) VALUES (?, ?)`
	sqlDelTemplate    = `DELETE FROM oneha_zone_template WHERE zone_id = ?`
	sqlSetEndpoint    = `UPDATE oneha_zone SET endpoint = ? WHERE id = ?`
	sqlRenameZone     = `UPDATE oneha_zone SET name = ? WHERE id = ?`
	sqlDeleteZone     = `DELETE FROM oneha_zone WHERE id = ?`
	sqlDeleteZoneSrvs = `DELETE FROM oneha_server WHERE zone_id = ?`
)

// checkTemplate applies what Zone::insert / post_update_template do to a
// zone template: SERVER attributes are dropped, ENDPOINT is single and
// fits the column.
func checkTemplate(t *Template) (endpoint string, err error) {
	t.Erase("SERVER")
	endpoint, _ = t.Single("ENDPOINT")
	if len(endpoint) > maxEndpointLen {
		return "", fmt.Errorf("%w: ENDPOINT longer than %d bytes", ErrTemplate, maxEndpointLen)
	}
	return endpoint, nil
}

// Allocate creates a zone from its template (NAME and ENDPOINT required;
// NAME leaves the template and becomes the zone's name) and returns its ID.
func (m *Manager) Allocate(ctx context.Context, t Template) (int, error) {
	if err := m.requireLeader(ctx); err != nil {
		return -1, fmt.Errorf("zone: allocate: %w", err)
	}
	name, _ := t.Single("NAME")
	t.Erase("NAME")
	if err := ValidateZoneName(name); err != nil {
		return -1, err
	}
	endpoint, err := checkTemplate(&t)
	if err != nil {
		return -1, err
	}
	if endpoint == "" {
		return -1, ErrNoEndpoint
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	zs, err := m.readZones(ctx, sqlfsm.Default, nil)
	if err != nil {
		return -1, fmt.Errorf("zone: allocate: %w", err)
	}
	id := FirstUserZoneID
	for _, z := range zs {
		if z.Name == name {
			return -1, fmt.Errorf("%w: NAME is already taken by Zone %d.", ErrZoneNameTaken, z.ID)
		}
		if z.ID >= id {
			id = z.ID + 1
		}
	}
	_, err = m.db.Exec(ctx, []sqlfsm.Statement{
		{SQL: sqlAllocZone, Params: []any{id, name, StateEnabled, endpoint}},
		{SQL: sqlPutTemplate, Params: []any{id, t.XML()}},
	})
	if err != nil {
		return -1, fmt.Errorf("zone: allocate: %w", err)
	}
	m.log.Info("zone allocated", "id", id, "name", name)
	return id, nil
}

// Update replaces (merge false) or merges (merge true) zone id's template,
// as one.zone.update's type 0 and 1. An empty ENDPOINT becomes "-" and
// SERVER attributes are dropped, as oned does.
func (m *Manager) Update(ctx context.Context, id int, t Template, merge bool) error {
	if err := m.requireLeader(ctx); err != nil {
		return fmt.Errorf("zone: update: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	z, err := m.zone(ctx, id)
	if err != nil {
		return err
	}
	if merge {
		cur := z.Template
		cur.Merge(t)
		t = cur
	}
	endpoint, err := checkTemplate(&t)
	if err != nil {
		return err
	}
	if endpoint == "" {
		endpoint = "-"
		t.Set("ENDPOINT", endpoint)
	}
	_, err = m.db.Exec(ctx, []sqlfsm.Statement{
		{SQL: sqlDelTemplate, Params: []any{id}},
		{SQL: sqlPutTemplate, Params: []any{id, t.XML()}},
		{SQL: sqlSetEndpoint, Params: []any{endpoint, id}},
	})
	if err != nil {
		return fmt.Errorf("zone: update %d: %w", id, err)
	}
	return nil
}

// Rename gives zone id a new, unique name.
func (m *Manager) Rename(ctx context.Context, id int, name string) error {
	if err := m.requireLeader(ctx); err != nil {
		return fmt.Errorf("zone: rename: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	zs, err := m.readZones(ctx, sqlfsm.Default, nil)
	if err != nil {
		return fmt.Errorf("zone: rename: %w", err)
	}
	// oned's order (RequestManagerRename::request_execute): a missing
	// zone first, then the same name (a no-op success), then a collision,
	// then the name's validity (PoolObjectSQL::set_name).
	var self *Zone
	for i := range zs {
		if zs[i].ID == id {
			self = &zs[i]
		}
	}
	if self == nil {
		return fmt.Errorf("%w: %d", ErrNoSuchZone, id)
	}
	if self.Name == name {
		return nil
	}
	for _, z := range zs {
		if z.ID != id && z.Name == name {
			return fmt.Errorf("%w: zone cannot be renamed to %s because it collides with zone %d", ErrZoneNameTaken, name, z.ID)
		}
	}
	if err := ValidateZoneName(name); err != nil {
		return err
	}
	if _, err := m.db.Exec(ctx, []sqlfsm.Statement{{SQL: sqlRenameZone, Params: []any{name, id}}}); err != nil {
		return fmt.Errorf("zone: rename %d: %w", id, err)
	}
	return nil
}

// Delete removes zone id (ID >= 100 only), its template and any servers
// listed for it.
func (m *Manager) Delete(ctx context.Context, id int) error {
	if err := m.requireLeader(ctx); err != nil {
		return fmt.Errorf("zone: delete: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.zone(ctx, id); err != nil {
		return err
	}
	if id < FirstUserZoneID || id == m.cfg.ZoneID {
		return ErrSystemZone
	}
	_, err := m.db.Exec(ctx, []sqlfsm.Statement{
		{SQL: sqlDelTemplate, Params: []any{id}},
		{SQL: sqlDeleteZoneSrvs, Params: []any{id}},
		{SQL: sqlDeleteZone, Params: []any{id}},
	})
	if err != nil {
		return fmt.Errorf("zone: delete %d: %w", id, err)
	}
	m.log.Info("zone deleted", "id", id)
	return nil
}

// zone reads any zone (not only this server's) at Default consistency.
func (m *Manager) zone(ctx context.Context, id int) (Zone, error) {
	zs, err := m.readZones(ctx, sqlfsm.Default, &id)
	if err != nil {
		return Zone{}, fmt.Errorf("zone: read %d: %w", id, err)
	}
	if len(zs) == 0 {
		return Zone{}, fmt.Errorf("%w: %d", ErrNoSuchZone, id)
	}
	return zs[0], nil
}
