package sqlfsm

import (
	"slices"
	"testing"
)

func TestSettingsDiffNamesEveryDifference(t *testing.T) {
	local := Settings{"version": "10.11.6-MariaDB", "lower_case_table_names": "1", "only_local": "x", "same": "y"}
	leader := Settings{"version": "10.11.6-MariaDB", "lower_case_table_names": "0", "only_leader": "z", "same": "y"}
	want := []string{
		"lower_case_table_names: local=1, leader=0",
		"only_leader: local=(unset), leader=z",
		"only_local: local=x, leader=(unset)",
	}
	if got := local.Diff(leader); !slices.Equal(got, want) {
		t.Fatalf("Diff = %q, want %q", got, want)
	}
	if got := local.Diff(local); len(got) != 0 {
		t.Fatalf("Diff with itself = %q", got)
	}
}
