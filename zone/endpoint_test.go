package zone_test

import (
	"errors"
	"testing"

	"github.com/oneha/oneha/zone"
)

func TestRaftAddress(t *testing.T) {
	tests := []struct {
		endpoint string
		want     string // "" = ErrBadEndpoint
	}{
		{"http://10.0.1.10:2633/RPC2", "10.0.1.10:2633"},
		{"https://vmm01.devservers.network:2633/RPC2", "vmm01.devservers.network:2633"},
		{"http://VMM01.Example:2633/RPC2", "vmm01.example:2633"},
		{"http://localhost:2633", "localhost:2633"},
		{"http://[fd00::1]:2633/RPC2", "[fd00::1]:2633"},
		{"", ""},
		{"10.0.1.10:2633", ""},
		{"ftp://10.0.1.10:2633/RPC2", ""},
		{"http://10.0.1.10/RPC2", ""},
		{"http://10.0.1.10:0/RPC2", ""},
		{"http://10.0.1.10:70000/RPC2", ""},
		{"http://10.0.1.10:port/RPC2", ""},
		{"http://:2633/RPC2", ""},
		{"http://user:pw@10.0.1.10:2633/RPC2", ""},
		{"http://10.0.1.10:2633/RPC2?x=1", ""},
		{"http://10.0.1.10:2633/RPC2#f", ""},
		{"http://10.0.1.10:2633/RP C2", ""},
		{"http://10.0.1.10:2633/\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint, func(t *testing.T) {
			got, err := zone.RaftAddress(tt.endpoint)
			if tt.want == "" {
				if !errors.Is(err, zone.ErrBadEndpoint) {
					t.Fatalf("RaftAddress(%q) = %q, %v; want ErrBadEndpoint", tt.endpoint, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("RaftAddress(%q) = %q, %v; want %q", tt.endpoint, got, err, tt.want)
			}
		})
	}
}
