package launcher

import (
	"strings"
	"testing"
)

func TestChooseEngines(t *testing.T) {
	for _, v := range []string{"", "auto"} {
		es, err := chooseEngines(v, false)
		if err != nil || len(es) != 3 || es[0].Name() != "userns" || es[1].Name() != "relocate" || es[2].Name() != "ptrace" {
			t.Errorf("chooseEngines(%q) = %v, %v; want userns, relocate, ptrace", v, es, err)
		}
	}
	if es, _ := chooseEngines("auto", true); len(es) != 3 || es[0].Name() != "relocate" || es[1].Name() != "userns" {
		t.Errorf("a relocated pack tries %v; want relocate first", es)
	}
	for _, v := range []string{"userns", "relocate", "ptrace"} {
		es, err := chooseEngines(v, false)
		if err != nil || len(es) != 1 || es[0].Name() != v {
			t.Errorf("chooseEngines(%q) = %v, %v", v, es, err)
		}
	}
	_, err := chooseEngines("bogus", false)
	if err == nil || err.Error() != `GPACK_ENGINE="bogus" is not one of auto, userns, relocate, ptrace` {
		t.Errorf("chooseEngines(bogus) error = %v", err)
	}
}

func TestWithoutVar(t *testing.T) {
	got := withoutVar([]string{"A=1", "GPACK_LAUNCHER_STAGE=2", "GPACK_LAUNCHER_STAGEX=3", "B="}, stageVar)
	want := []string{"A=1", "GPACK_LAUNCHER_STAGEX=3", "B="}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("withoutVar = %q, want %q", got, want)
	}
}
