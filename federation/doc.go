// Package federation carries writes on federated tables from the master
// zone to every slave zone, as OpenNebula's FEDERATION MODE MASTER/SLAVE
// does.
//
// A fixed set of tables (Tables: OpenNebula's federated tables plus any the
// operator lists) is the same in every zone; the rest is local to a zone.
// On the master, a transaction that names only federated tables goes
// through the master zone's Raft log as a federated entry (sqlfsm.Fed):
// applying it gives it the next federation index and stores its record in
// the same database transaction. The master zone's leader streams the
// records to each slave zone (Replicator, one.zone.fedreplicate) in order;
// a slave zone's leader commits each record through its own Raft log, so
// every server of the slave applies it once, in order, with the master's
// entry context. A gap is answered with the slave's last index, and the
// master rewinds to it.
//
// Classify decides what a transaction is: local, federated, or refused
// (it mixes federated and local tables, or defines a view or trigger on a
// federated table, which would let a local write change federated rows).
package federation
