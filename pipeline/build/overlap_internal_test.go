package build

import (
	"context"
	"errors"
	"testing"
)

// TestReadiness: a platform is ready once every job building for it is done, not before;
// a platform no job builds for never blocks; a cancelled wait returns.
func TestReadiness(t *testing.T) {
	linux, win := Platform{OS: "linux", Arch: "amd64"}, Platform{OS: "windows", Arch: "amd64"}
	js := []job{{platform: linux}, {platform: linux}, {platform: win}}
	rd := newReadiness(js)
	ready := func(ps ...Platform) bool {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := rd.wait(ctx, ps...)
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		return err == nil
	}
	for _, step := range []struct {
		done           *job
		linuxOK, winOK bool
	}{
		{nil, false, false},
		{&js[0], false, false}, // one of linux's two jobs
		{&js[2], false, true},
		{&js[1], true, true},
	} {
		if step.done != nil {
			rd.done(*step.done)
		}
		if ready(linux) != step.linuxOK || ready(win) != step.winOK {
			t.Fatalf("after %v: linux ready %v, windows ready %v", step.done, ready(linux), ready(win))
		}
	}
	if !ready(Platform{OS: "darwin", Arch: "arm64"}) {
		t.Error("a platform without jobs blocks")
	}
}
