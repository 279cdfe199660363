package vip

import "errors"

// Sentinel errors; returned errors wrap them (test with errors.Is).
var (
	// ErrInvalidConfig: a Config is malformed (New).
	ErrInvalidConfig = errors.New("vip: invalid config")
	// ErrInterface: a configured interface cannot be found or used.
	ErrInterface = errors.New("vip: interface")
	// ErrAddress: the kernel refused to add, delete or list an address.
	ErrAddress = errors.New("vip: address")
	// ErrAnnounce: an announcement (gratuitous ARP, unsolicited NA) could
	// not be sent. The addresses are held all the same.
	ErrAnnounce = errors.New("vip: announce")
	// ErrNotAcquired: Announce was called while the VIP is not acquired.
	ErrNotAcquired = errors.New("vip: not acquired")
)
