package oned

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/oneha/oneha/federation"
	"github.com/oneha/oneha/xmlrpc"
	"github.com/oneha/oneha/zone"
)

// OpenNebulaVersion is what one.system.version answers: the OpenNebula
// release whose XML-RPC API and formats OneHA follows (6.10: ZONE STATE,
// RAFT FEDLOG_INDEX, zone IDs from 100, the error texts of Request.cc).
// OneHA's own version (Version) is in `oned --version`, /status and
// one.system.config.
const OpenNebulaVersion = "6.10.0"

// oneError is a failure with oned's code and message (without the
// "[method] " prefix, which Failure adds).
type oneError struct {
	code int
	msg  string
}

func (e *oneError) Error() string { return e.msg }

func oneErr(code int, format string, args ...any) error {
	return &oneError{code: code, msg: fmt.Sprintf(format, args...)}
}

// noZone is oned's NO_EXISTS answer for a zone: "Error getting zone [5].".
func noZone(id int64) error { return oneErr(xmlrpc.NoExistsError, "Error getting zone [%d].", id) }

// zoneErr maps the zone package's errors to oned's code and text for
// zone id; other errors pass through to describe.
func zoneErr(id int64, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, zone.ErrNoSuchZone):
		return noZone(id)
	case errors.Is(err, zone.ErrNoSuchServer):
		return oneErr(xmlrpc.ActionError, "SERVER not found in zone")
	}
	return err
}

// ownZone refuses server management of another zone, as oned does
// (ACTION): servers are managed through the target zone's endpoints.
func (s *Server) ownZone(id int64, verb string) error {
	if id != int64(s.cfg.Federation.ZoneID) {
		return oneErr(xmlrpc.ActionError, "Servers have to be %s through the target zone endpoints", verb)
	}
	return nil
}

// parseErr is a template error as oned's parser reports it.
func parseErr(err error) string {
	return "Parse error: " + strings.TrimPrefix(err.Error(), zone.ErrTemplate.Error()+": ")
}

// zoneAllocate is one.zone.allocate(session, template[, cluster]) → new
// zone ID. Template: NAME and ENDPOINT required, KEY=VALUE or XML. goca
// sends a cluster ID after the template (ZonesController.Create(tpl,
// clusterID)); oned ignores it for zones, and so does this.
func (s *Server) zoneAllocate(ctx context.Context, p []any) (any, error) {
	if err := s.refuseOnSlave("created"); err != nil {
		return nil, err
	}
	src, err := xmlrpc.ParamString(p, 0)
	if err != nil {
		return nil, err
	}
	t, err := zone.ParseTemplate(src)
	if err != nil {
		return nil, oneErr(xmlrpc.InternalError, "%s", parseErr(err))
	}
	id, err := s.zone.Allocate(ctx, t)
	// oned 6.10 answers every ZonePool::allocate failure (invalid or taken
	// NAME, no ENDPOINT) with INTERNAL and the pool's text alone:
	// ZoneAllocate::pool_allocate returns Request::INTERNAL, and
	// Request::failure_message prints INTERNAL as "[method] resp_msg". The
	// "Error allocating a new zone." form is ALLOCATE's, which oned sends
	// only off the federation master.
	switch {
	case errors.Is(err, zone.ErrZoneNameTaken):
		return nil, oneErr(xmlrpc.InternalError, "%s", strings.TrimPrefix(err.Error(), zone.ErrZoneNameTaken.Error()+": "))
	case errors.Is(err, zone.ErrZoneName), errors.Is(err, zone.ErrNoEndpoint), errors.Is(err, zone.ErrTemplate):
		return nil, oneErr(xmlrpc.InternalError, "%s", strings.TrimPrefix(err.Error(), "zone: "))
	case err != nil:
		return nil, err
	}
	return int64(id), nil
}

// zoneUpdate is one.zone.update(session, id, template, type) → id; type 0
// (default) replaces the template, 1 merges into it.
func (s *Server) zoneUpdate(ctx context.Context, p []any) (any, error) {
	id, err := xmlrpc.ParamInt(p, 0)
	if err != nil {
		return nil, err
	}
	src, err := xmlrpc.ParamString(p, 1)
	if err != nil {
		return nil, err
	}
	typ := int64(0)
	if len(p) > 2 {
		if typ, err = xmlrpc.ParamInt(p, 2); err != nil {
			return nil, err
		}
	}
	if typ != 0 && typ != 1 {
		// oned checks the zone first (basic_authorization reads it):
		// a missing zone is NO_EXISTS whatever the type.
		if _, err := s.zone.Info(ctx, int(id)); err != nil {
			return nil, zoneErr(id, err)
		}
		return nil, oneErr(xmlrpc.XMLRPCAPIError, "Wrong update type")
	}
	t, err := zone.ParseTemplate(src)
	if err != nil {
		return nil, oneErr(xmlrpc.InternalError, "Cannot update template. %s", parseErr(err))
	}
	err = s.zone.Update(ctx, int(id), t, typ == 1)
	if errors.Is(err, zone.ErrTemplate) {
		return nil, oneErr(xmlrpc.InternalError, "Cannot update template. %s", parseErr(err))
	}
	return id, zoneErr(id, err)
}

// zoneRename is one.zone.rename(session, id, name) → id.
func (s *Server) zoneRename(ctx context.Context, p []any) (any, error) {
	id, err := xmlrpc.ParamInt(p, 0)
	if err != nil {
		return nil, err
	}
	name, err := xmlrpc.ParamString(p, 1)
	if err != nil {
		return nil, err
	}
	err = s.zone.Rename(ctx, int(id), name)
	switch {
	case errors.Is(err, zone.ErrZoneNameTaken):
		return nil, oneErr(xmlrpc.ActionError, "%s", strings.TrimPrefix(err.Error(), zone.ErrZoneNameTaken.Error()+": "))
	case errors.Is(err, zone.ErrZoneName):
		return nil, oneErr(xmlrpc.ActionError, "%s", err.Error())
	}
	return id, zoneErr(id, err)
}

// zoneDelete is one.zone.delete(session, id) → id. Zones with ID < 100
// (and this server's own zone) cannot be deleted.
func (s *Server) zoneDelete(ctx context.Context, p []any) (any, error) {
	id, err := xmlrpc.ParamInt(p, 0)
	if err != nil {
		return nil, err
	}
	if err := s.refuseOnSlave("deleted"); err != nil {
		return nil, err
	}
	err = s.zone.Delete(ctx, int(id))
	if errors.Is(err, zone.ErrSystemZone) {
		return nil, oneErr(xmlrpc.ActionError, "Cannot delete zone. %s", err.Error())
	}
	return id, zoneErr(id, err)
}

// systemConfig is one.system.config: a subset of oned.conf as XML (no
// secrets: no DB credentials, no ONE_AUTH), with OneHA's own version.
func (s *Server) systemConfig(context.Context, []any) (any, error) {
	f := s.cfg.Federation
	var b strings.Builder
	fmt.Fprintf(&b, "<OPENNEBULA_CONFIGURATION><FEDERATION><MASTER_ONED><![CDATA[%s]]></MASTER_ONED><MODE><![CDATA[%s]]></MODE><SERVER_ID><![CDATA[%d]]></SERVER_ID><ZONE_ID><![CDATA[%d]]></ZONE_ID></FEDERATION>",
		strings.ReplaceAll(f.MasterOned, "]]>", ""), strings.ReplaceAll(f.Mode, "]]>", ""), f.ServerID, f.ZoneID)
	fmt.Fprintf(&b, "<ONEHA_VERSION><![CDATA[%s]]></ONEHA_VERSION><VERSION><![CDATA[%s]]></VERSION></OPENNEBULA_CONFIGURATION>",
		strings.TrimPrefix(Version, "OneHA "), OpenNebulaVersion)
	return b.String(), nil
}

// refuseOnSlave: on a federation slave zones are created and deleted on
// the master (which streams to every slave zone), not here. A slave
// still updates and renames its own zone's row.
func (s *Server) refuseOnSlave(verb string) error {
	if s.fedMode() == federation.Slave {
		return oneErr(xmlrpc.ActionError, "Zones can only be %s on the federation master (%s)", verb, s.cfg.Federation.MasterOned)
	}
	return nil
}
