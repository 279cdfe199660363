package bench

import (
	"fmt"
	"strings"
	"testing"
)

// OpenNebula's "VM create" control-plane write, as oned 6.x issues it on
// MySQL: PoolSQL::allocate records the pool's last oid in pool_control and
// VirtualMachine::insert_replace inserts the object row (schema from
// OpenNebula's src/vm/VirtualMachine.cc bootstrap and include/OneDB.h:
// vm_pool with the FULLTEXT index oned adds when the server supports it,
// and its (state, oid) index). Here both statements are one transaction:
// through the API one one.sql.exec call of two statements, directly
// BEGIN; REPLACE; INSERT; COMMIT.
var vmSchema = []string{
	"CREATE TABLE pool_control (tablename VARCHAR(32) PRIMARY KEY, last_oid BIGINT UNSIGNED)",
	"CREATE TABLE vm_pool (oid INTEGER PRIMARY KEY, name VARCHAR(128), body MEDIUMTEXT, uid INTEGER, gid INTEGER, " +
		"state INTEGER, lcm_state INTEGER, owner_u INTEGER, group_u INTEGER, other_u INTEGER, " +
		"short_body MEDIUMTEXT, search_token MEDIUMTEXT, FULLTEXT ftidx(search_token))",
	"CREATE INDEX state_oid_idx ON vm_pool (state, oid)",
}

const (
	vmPoolControlSQL = "REPLACE INTO pool_control (tablename, last_oid) VALUES ('vm_pool', ?)"
	vmInsertSQL      = "INSERT INTO vm_pool (oid, name, body, uid, gid, state, lcm_state, owner_u, group_u, other_u, short_body, search_token) " +
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

// insertSchema is loadgen's table (/work/shared/tools/loadgen, target
// mysql): an auto-increment id, a 100-byte string, an integer.
const insertSchema = "CREATE TABLE bench (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, s VARCHAR(100) NOT NULL, n BIGINT NOT NULL) ENGINE=InnoDB"

const insertSQL = "INSERT INTO bench (s, n) VALUES (?, ?)"

// insertPayload is loadgen's 100-byte string.
var insertPayload = strings.Repeat("x", 100)

// vmRow is one VM create: the REPLACE's parameters, then the INSERT's.
type vmRow struct {
	control []any
	insert  []any
}

// newVMRow returns the two statements' parameters for VM oid: a pending VM
// (STATE 1, LCM_STATE 0, no history yet) of user 0 made from template 0
// with two disks and two NICs, its body ~4.9 KB of XML as oned writes it.
func newVMRow(oid int64) vmRow {
	name := fmt.Sprintf("web-%d", oid)
	stime := 1733040000 + oid
	body := fmt.Sprintf(vmBodyXML, oid, name, stime, oid, oid, oid, oid)
	short := fmt.Sprintf(vmShortXML, oid, name, stime)
	token := fmt.Sprintf("UNAME=oneadmin\nGNAME=oneadmin\nCPU=1\nMEMORY=2048\nVCPU=2\nIMAGE=ubuntu2204\nNETWORK=service\nIP=192.168.150.100\nNAME=%s\n", name)
	return vmRow{
		control: []any{oid},
		insert:  []any{oid, name, body, int64(0), int64(0), int64(1), int64(0), int64(1), int64(0), int64(0), short, token},
	}
}

// vmBodyXML: %d oid, %s name, %d stime, then oid for the context's disk
// source, two NIC targets and VMID.
const vmBodyXML = `<VM><ID>%d</ID><UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME><GNAME>oneadmin</GNAME><NAME>%s</NAME>` +
	`<PERMISSIONS><OWNER_U>1</OWNER_U><OWNER_M>1</OWNER_M><OWNER_A>0</OWNER_A><GROUP_U>0</GROUP_U><GROUP_M>0</GROUP_M><GROUP_A>0</GROUP_A>` +
	`<OTHER_U>0</OTHER_U><OTHER_M>0</OTHER_M><OTHER_A>0</OTHER_A></PERMISSIONS>` +
	`<LAST_POLL>0</LAST_POLL><STATE>1</STATE><LCM_STATE>0</LCM_STATE><PREV_STATE>1</PREV_STATE><PREV_LCM_STATE>0</PREV_LCM_STATE>` +
	`<RESCHED>0</RESCHED><STIME>%d</STIME><ETIME>0</ETIME><DEPLOY_ID></DEPLOY_ID><MONITORING/><SCHED_ACTIONS/>` +
	`<TEMPLATE>` +
	`<AUTOMATIC_DS_REQUIREMENTS><![CDATA[("CLUSTERS/ID" @> 0)]]></AUTOMATIC_DS_REQUIREMENTS>` +
	`<AUTOMATIC_NIC_REQUIREMENTS><![CDATA[("CLUSTERS/ID" @> 0)]]></AUTOMATIC_NIC_REQUIREMENTS>` +
	`<AUTOMATIC_REQUIREMENTS><![CDATA[(CLUSTER_ID = 0) & !(PUBLIC_CLOUD = YES) & !(PIN_POLICY = PINNED)]]></AUTOMATIC_REQUIREMENTS>` +
	`<CONTEXT><DISK_ID><![CDATA[2]]></DISK_ID>` +
	`<ETH0_IP><![CDATA[192.168.150.100]]></ETH0_IP><ETH0_MAC><![CDATA[02:00:c0:a8:96:64]]></ETH0_MAC>` +
	`<NETWORK><![CDATA[YES]]></NETWORK>` +
	`<SSH_PUBLIC_KEY><![CDATA[ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIH3q9rF0p2xvQ7mC4bW8uJ1kL5sT6yD0eN9aR2cV7fGh oneadmin@frontend]]></SSH_PUBLIC_KEY>` +
	`<TARGET><![CDATA[hda]]></TARGET></CONTEXT>` +
	`<CPU><![CDATA[1]]></CPU>` +
	`<DISK><ALLOW_ORPHANS><![CDATA[YES]]></ALLOW_ORPHANS><CLONE><![CDATA[YES]]></CLONE><CLONE_TARGET><![CDATA[SYSTEM]]></CLONE_TARGET>` +
	`<CLUSTER_ID><![CDATA[0]]></CLUSTER_ID><DATASTORE><![CDATA[default]]></DATASTORE><DATASTORE_ID><![CDATA[1]]></DATASTORE_ID>` +
	`<DEV_PREFIX><![CDATA[vd]]></DEV_PREFIX><DISK_ID><![CDATA[0]]></DISK_ID><DISK_SNAPSHOT_TOTAL_SIZE><![CDATA[0]]></DISK_SNAPSHOT_TOTAL_SIZE>` +
	`<DISK_TYPE><![CDATA[FILE]]></DISK_TYPE><DRIVER><![CDATA[qcow2]]></DRIVER><FORMAT><![CDATA[qcow2]]></FORMAT>` +
	`<IMAGE><![CDATA[ubuntu2204]]></IMAGE><IMAGE_ID><![CDATA[3]]></IMAGE_ID><IMAGE_STATE><![CDATA[2]]></IMAGE_STATE>` +
	`<LN_TARGET><![CDATA[NONE]]></LN_TARGET><ORIGINAL_SIZE><![CDATA[2252]]></ORIGINAL_SIZE>` +
	`<READONLY><![CDATA[NO]]></READONLY><SAVE><![CDATA[NO]]></SAVE><SIZE><![CDATA[10240]]></SIZE>` +
	`<SOURCE><![CDATA[/var/lib/one//datastores/1/8c0d6a0e2b7f4e3d9a1c5b6f7e8d9c0a]]></SOURCE><TARGET><![CDATA[vda]]></TARGET>` +
	`<TM_MAD><![CDATA[ssh]]></TM_MAD><TYPE><![CDATA[FILE]]></TYPE></DISK>` +
	`<DISK><ALLOW_ORPHANS><![CDATA[YES]]></ALLOW_ORPHANS><CLONE><![CDATA[NO]]></CLONE><CLONE_TARGET><![CDATA[SYSTEM]]></CLONE_TARGET>` +
	`<CLUSTER_ID><![CDATA[0]]></CLUSTER_ID><DATASTORE><![CDATA[default]]></DATASTORE><DATASTORE_ID><![CDATA[1]]></DATASTORE_ID>` +
	`<DEV_PREFIX><![CDATA[vd]]></DEV_PREFIX><DISK_ID><![CDATA[1]]></DISK_ID><DISK_SNAPSHOT_TOTAL_SIZE><![CDATA[0]]></DISK_SNAPSHOT_TOTAL_SIZE>` +
	`<DISK_TYPE><![CDATA[FILE]]></DISK_TYPE><DRIVER><![CDATA[raw]]></DRIVER><FORMAT><![CDATA[raw]]></FORMAT>` +
	`<IMAGE><![CDATA[data-%d]]></IMAGE><IMAGE_ID><![CDATA[7]]></IMAGE_ID><IMAGE_STATE><![CDATA[8]]></IMAGE_STATE>` +
	`<LN_TARGET><![CDATA[NONE]]></LN_TARGET><ORIGINAL_SIZE><![CDATA[20480]]></ORIGINAL_SIZE>` +
	`<PERSISTENT><![CDATA[YES]]></PERSISTENT><READONLY><![CDATA[NO]]></READONLY><SAVE><![CDATA[YES]]></SAVE><SIZE><![CDATA[20480]]></SIZE>` +
	`<SOURCE><![CDATA[/var/lib/one//datastores/1/3f2a9b8c7d6e5f4a3b2c1d0e9f8a7b6c]]></SOURCE><TARGET><![CDATA[vdb]]></TARGET>` +
	`<TM_MAD><![CDATA[ssh]]></TM_MAD><TYPE><![CDATA[FILE]]></TYPE></DISK>` +
	`<GRAPHICS><LISTEN><![CDATA[0.0.0.0]]></LISTEN><TYPE><![CDATA[VNC]]></TYPE></GRAPHICS>` +
	`<MEMORY><![CDATA[2048]]></MEMORY>` +
	`<NIC><AR_ID><![CDATA[0]]></AR_ID><BRIDGE><![CDATA[br0]]></BRIDGE><BRIDGE_TYPE><![CDATA[linux]]></BRIDGE_TYPE>` +
	`<CLUSTER_ID><![CDATA[0]]></CLUSTER_ID><IP><![CDATA[192.168.150.100]]></IP><MAC><![CDATA[02:00:c0:a8:96:64]]></MAC>` +
	`<MODEL><![CDATA[virtio]]></MODEL><NAME><![CDATA[NIC0]]></NAME><NETWORK><![CDATA[service]]></NETWORK>` +
	`<NETWORK_ID><![CDATA[0]]></NETWORK_ID><NIC_ID><![CDATA[0]]></NIC_ID>` +
	`<SECURITY_GROUPS><![CDATA[0]]></SECURITY_GROUPS><TARGET><![CDATA[one-%d-0]]></TARGET><VN_MAD><![CDATA[bridge]]></VN_MAD></NIC>` +
	`<NIC><AR_ID><![CDATA[0]]></AR_ID><BRIDGE><![CDATA[br1]]></BRIDGE><BRIDGE_TYPE><![CDATA[linux]]></BRIDGE_TYPE>` +
	`<CLUSTER_ID><![CDATA[0]]></CLUSTER_ID><IP><![CDATA[10.10.0.100]]></IP><MAC><![CDATA[02:00:0a:0a:00:64]]></MAC>` +
	`<MODEL><![CDATA[virtio]]></MODEL><NAME><![CDATA[NIC1]]></NAME><NETWORK><![CDATA[storage]]></NETWORK>` +
	`<NETWORK_ID><![CDATA[1]]></NETWORK_ID><NIC_ID><![CDATA[1]]></NIC_ID>` +
	`<SECURITY_GROUPS><![CDATA[0]]></SECURITY_GROUPS><TARGET><![CDATA[one-%d-1]]></TARGET><VN_MAD><![CDATA[bridge]]></VN_MAD></NIC>` +
	`<OS><ARCH><![CDATA[x86_64]]></ARCH><BOOT><![CDATA[disk0]]></BOOT></OS>` +
	`<TEMPLATE_ID><![CDATA[0]]></TEMPLATE_ID><TM_MAD_SYSTEM><![CDATA[ssh]]></TM_MAD_SYSTEM><VCPU><![CDATA[2]]></VCPU><VMID><![CDATA[%d]]></VMID>` +
	`</TEMPLATE>` +
	`<USER_TEMPLATE><DESCRIPTION><![CDATA[Web front end, managed by the ops team]]></DESCRIPTION>` +
	`<HYPERVISOR><![CDATA[kvm]]></HYPERVISOR><LOGO><![CDATA[images/logos/ubuntu.png]]></LOGO>` +
	`<SCHED_REQUIREMENTS><![CDATA[HYPERVISOR="kvm"]]></SCHED_REQUIREMENTS></USER_TEMPLATE>` +
	`<HISTORY_RECORDS/>` +
	`<BACKUPS><BACKUP_CONFIG/><BACKUP_IDS/></BACKUPS></VM>`

// vmShortXML is VirtualMachine::to_xml_short's layout: %d oid, %s name,
// %d stime.
const vmShortXML = `<VM><ID>%d</ID><UID>0</UID><GID>0</GID><UNAME>oneadmin</UNAME><GNAME>oneadmin</GNAME><NAME>%s</NAME>` +
	`<LAST_POLL>0</LAST_POLL><STATE>1</STATE><LCM_STATE>0</LCM_STATE><RESCHED>0</RESCHED><STIME>%d</STIME><ETIME>0</ETIME><DEPLOY_ID></DEPLOY_ID>` +
	`<TEMPLATE><CPU>1</CPU><MEMORY>2048</MEMORY>` +
	`<DISK><DATASTORE>default</DATASTORE><DATASTORE_ID>1</DATASTORE_ID><DISK_ID>0</DISK_ID><IMAGE>ubuntu2204</IMAGE><IMAGE_ID>3</IMAGE_ID><SIZE>10240</SIZE><TARGET>vda</TARGET><TYPE>FILE</TYPE></DISK>` +
	`<DISK><DATASTORE>default</DATASTORE><DATASTORE_ID>1</DATASTORE_ID><DISK_ID>1</DISK_ID><IMAGE_ID>7</IMAGE_ID><SIZE>20480</SIZE><TARGET>vdb</TARGET><TYPE>FILE</TYPE></DISK>` +
	`<NIC><IP>192.168.150.100</IP><MAC>02:00:c0:a8:96:64</MAC><NETWORK>service</NETWORK><NIC_ID>0</NIC_ID></NIC>` +
	`<NIC><IP>10.10.0.100</IP><MAC>02:00:0a:0a:00:64</MAC><NETWORK>storage</NETWORK><NIC_ID>1</NIC_ID></NIC>` +
	`<GRAPHICS><LISTEN>0.0.0.0</LISTEN><TYPE>VNC</TYPE></GRAPHICS></TEMPLATE>` +
	`<MONITORING/><USER_TEMPLATE><LOGO>images/logos/ubuntu.png</LOGO></USER_TEMPLATE><HISTORY_RECORDS/></VM>`

// TestVMCreateBodyIsAbout4900Bytes: the VM create workload writes a body
// of 4.9 KB ± 5% (the size the figures were measured with).
func TestVMCreateBodyIsAbout4900Bytes(t *testing.T) {
	for _, oid := range []int64{0, 12345, 1 << 30} {
		r := newVMRow(oid)
		body := r.insert[2].(string)
		if n := len(body); n < 4655 || n > 5145 {
			t.Errorf("oid %d: body is %d bytes, want 4900 ± 5%%", oid, n)
		}
		if len(r.insert) != strings.Count(vmInsertSQL, "?") || len(r.control) != strings.Count(vmPoolControlSQL, "?") {
			t.Fatalf("parameter counts do not match the statements")
		}
	}
}
