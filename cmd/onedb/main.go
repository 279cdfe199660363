// Command onedb backs up and restores a OneHA server's database, like
// OpenNebula's onedb backup / onedb restore: the same options (-u -p -d -S
// -P for MySQL, -s for SQLite, -f to overwrite), defaults from oned's
// configuration (--config, default /etc/one/oned.yaml), the same default
// backup file names and messages.
//
// A backup is a consistent logical dump taken with package backup while the
// database stays in use; a MySQL dump also loads with the plain client
// (mysql -u user -h server -P port db_name < backup_file). A restore
// replaces the database's contents. It refuses to run while an oned holds
// the lock file <DATA_DIR>/oned.lock of the configuration (oned keeps an
// exclusive flock on it while running), and refuses a non-empty database
// without -f.
//
// With --federated, backup dumps only the federated tables and the
// federation index (oneha_fed), and restore replaces only those tables,
// keeping the others: OpenNebula's way to seed a new slave zone. Each
// refuses the other kind of dump.
//
// Exit status is 0 on success and 255 on any error, printed to stderr.
package main

import "github.com/oneha/oneha/internal/cli"

func main() { cli.Run(newRootCmd) }
