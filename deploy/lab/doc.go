// Package lab holds the network-namespace lab tests of a OneHA zone: real
// oned processes in their own namespaces on a private bridge (addresses from
// 198.18.0.0/15, nothing routed off the machine), the built-in floating IP,
// and the test process attached to the bridge as the client. They need
// root; `make lab` brings the same lab up by hand (scripts/lab.sh).
package lab
