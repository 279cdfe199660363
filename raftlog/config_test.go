package raftlog

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	base := func() Config {
		c := DefaultConfig()
		c.ID, c.Dir = "0", "/tmp/x"
		return c
	}
	tests := []struct {
		name      string
		mutate    func(*Config)
		wantField string // "" = valid
	}{
		{"defaults valid", func(*Config) {}, ""},
		{"empty ID", func(c *Config) { c.ID = "" }, "ID"},
		{"empty Dir", func(c *Config) { c.Dir = "" }, "Dir"},
		{"election too low", func(c *Config) { c.ElectionTimeout = 4 * time.Millisecond; c.LeaderLease = 0 }, "ElectionTimeout"},
		{"lease zero derives election/2", func(c *Config) { c.LeaderLease = 0 }, ""},
		{"lease too low", func(c *Config) { c.LeaderLease = time.Millisecond }, "LeaderLease"},
		{"lease above election", func(c *Config) { c.LeaderLease = c.ElectionTimeout + time.Millisecond }, "LeaderLease"},
		{"lease equal election", func(c *Config) { c.LeaderLease = c.ElectionTimeout }, ""},
		{"broadcast too low", func(c *Config) { c.BroadcastTimeout = 0 }, "BroadcastTimeout"},
		{"commit too low", func(c *Config) { c.CommitTimeout = time.Millisecond }, "CommitTimeout"},
		{"commit above election", func(c *Config) { c.CommitTimeout = c.ElectionTimeout + time.Millisecond }, "CommitTimeout"},
		{"snapshot interval too low", func(c *Config) { c.SnapshotInterval = 0 }, "SnapshotInterval"},
		{"max append zero", func(c *Config) { c.MaxAppendEntries = 0 }, "MaxAppendEntries"},
		{"max append too large", func(c *Config) { c.MaxAppendEntries = 2000 }, "MaxAppendEntries"},
		{"snapshot threshold zero", func(c *Config) { c.SnapshotThreshold = 0 }, "SnapshotThreshold"},
		{"unknown log store", func(c *Config) { c.LogStore = "rocks" }, "LogStore"},
		{"boltdb ok", func(c *Config) { c.LogStore = LogStoreBoltDB }, ""},
		{"trailing logs zero ok", func(c *Config) { c.TrailingLogs = 0 }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := base()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("want ErrInvalidConfig, got %v", err)
			}
			if !strings.Contains(err.Error(), ": "+tt.wantField+": ") {
				t.Fatalf("error %q does not name field %s", err, tt.wantField)
			}
		})
	}
}

func TestRaftConfigMapping(t *testing.T) {
	c := DefaultConfig()
	c.ID, c.Dir = "3", "/tmp/x"
	c.LeaderLease = 0
	c = c.withDefaults()
	rc := c.raftConfig(testLogger())
	checks := []struct {
		name      string
		got, want any
	}{
		{"LocalID", string(rc.LocalID), "3"},
		{"HeartbeatTimeout", rc.HeartbeatTimeout, 500 * time.Millisecond},
		{"ElectionTimeout", rc.ElectionTimeout, 500 * time.Millisecond},
		{"LeaderLeaseTimeout", rc.LeaderLeaseTimeout, 250 * time.Millisecond},
		{"CommitTimeout", rc.CommitTimeout, 50 * time.Millisecond},
		{"MaxAppendEntries", rc.MaxAppendEntries, 512},
		{"TrailingLogs", rc.TrailingLogs, uint64(250000)},
		{"NoSnapshotRestoreOnStart", rc.NoSnapshotRestoreOnStart, true},
		{"PreVoteDisabled", rc.PreVoteDisabled, false},
		{"BatchApplyCh", rc.BatchApplyCh, true},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}
