package vip

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestNewValidation(t *testing.T) {
	tests := []struct {
		name string
		cfgs []Config
		ok   bool
	}{
		{"ipv4", []Config{{Interface: "eth0", Address: "198.18.7.100/24"}}, true},
		{"ipv4 host route", []Config{{Interface: "eth0", Address: "198.18.7.100/32"}}, true},
		{"ipv4 label", []Config{{Interface: "eth0", Address: "198.18.7.100/24", Label: "eth0:vip"}}, true},
		{"ipv6", []Config{{Interface: "eth0", Address: "fd00:198:18::100/64"}}, true},
		{"both", []Config{
			{Interface: "eth0", Address: "198.18.7.100/24"},
			{Interface: "eth1", Address: "fd00:198:18::100/64"},
		}, true},
		{"no configs", nil, false},
		{"empty interface", []Config{{Address: "198.18.7.100/24"}}, false},
		{"interface too long", []Config{{Interface: "abcdefghijklmnop", Address: "198.18.7.100/24"}}, false},
		{"interface with slash", []Config{{Interface: "eth/0", Address: "198.18.7.100/24"}}, false},
		{"interface with colon", []Config{{Interface: "eth0:1", Address: "198.18.7.100/24"}}, false},
		{"interface with space", []Config{{Interface: "eth 0", Address: "198.18.7.100/24"}}, false},
		{"interface dot", []Config{{Interface: ".", Address: "198.18.7.100/24"}}, false},
		{"no prefix length", []Config{{Interface: "eth0", Address: "198.18.7.100"}}, false},
		{"bad cidr", []Config{{Interface: "eth0", Address: "198.18.7.300/24"}}, false},
		{"bad length", []Config{{Interface: "eth0", Address: "198.18.7.100/33"}}, false},
		{"garbage", []Config{{Interface: "eth0", Address: "vip"}}, false},
		{"empty address", []Config{{Interface: "eth0"}}, false},
		{"zone", []Config{{Interface: "eth0", Address: "fe80::1%eth0/64"}}, false},
		{"unspecified", []Config{{Interface: "eth0", Address: "0.0.0.0/0"}}, false},
		{"loopback", []Config{{Interface: "eth0", Address: "127.0.0.2/8"}}, false},
		{"multicast", []Config{{Interface: "eth0", Address: "ff02::1/64"}}, false},
		{"link-local v6", []Config{{Interface: "eth0", Address: "fe80::100/64"}}, false},
		{"mapped", []Config{{Interface: "eth0", Address: "::ffff:198.18.7.100/120"}}, false},
		{"network address", []Config{{Interface: "eth0", Address: "198.18.7.0/24"}}, false},
		{"label not prefixed", []Config{{Interface: "eth0", Address: "198.18.7.100/24", Label: "vip"}}, false},
		{"label other interface", []Config{{Interface: "eth0", Address: "198.18.7.100/24", Label: "eth1:vip"}}, false},
		{"label too long", []Config{{Interface: "eth0", Address: "198.18.7.100/24", Label: "eth0:averylongname"}}, false},
		{"label on ipv6", []Config{{Interface: "eth0", Address: "fd00:198:18::100/64", Label: "eth0:vip"}}, false},
		{"duplicate", []Config{
			{Interface: "eth0", Address: "198.18.7.100/24"},
			{Interface: "eth1", Address: "198.18.7.100/16"},
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New(tt.cfgs, nil)
			if tt.ok {
				if err != nil || v == nil {
					t.Fatalf("New(%+v) = %v, %v; want a VIP", tt.cfgs, v, err)
				}
				if len(v.Addresses()) != len(tt.cfgs) {
					t.Fatalf("Addresses() = %v", v.Addresses())
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) || v != nil {
				t.Fatalf("New(%+v) = %v, %v; want ErrInvalidConfig", tt.cfgs, v, err)
			}
		})
	}
}

func TestScheduleOffsets(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	tests := []struct {
		name  string
		sched schedule
		want  []time.Duration
	}{
		{"default", defaultSchedule(), ms(500, 1000, 1500, 2000, 5000, 5500, 6000, 6500, 7000)},
		{"one round", schedule{rounds: 1, spacing: time.Second, bursts: 1, gap: time.Second}, nil},
		{"one burst", schedule{rounds: 3, spacing: 100 * time.Millisecond, bursts: 1}, ms(100, 200)},
		{"two single rounds", schedule{rounds: 1, bursts: 2, gap: 5 * time.Second}, ms(5000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sched.offsets(); !slices.Equal(got, tt.want) {
				t.Fatalf("offsets() = %v, want %v", got, tt.want)
			}
		})
	}
}
