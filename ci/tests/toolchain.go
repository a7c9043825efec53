package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/sentientos/reliquary/ci/tests/internal/dagger"
)

// pinnedToolchain is the toolchain the pinned test project's go.mod names: older than the
// Go image's, so a build with the image's Go would show.
const pinnedToolchain = "go1.22.6"

// PinnedToolchain releases a module whose go.mod pins toolchain go1.22.6. Freeze fetches it
// through the module proxy (checksum-verified), the build runs with it, the lock, the
// manifest and every binary's build info say so, and replay reproduces the release.
func (t *Tests) PinnedToolchain(ctx context.Context) error {
	key, err := newTestKey("release")
	if err != nil {
		return err
	}
	project := t.Project.WithNewFile("go.mod", "module example.com/multi\n\ngo 1.22\n\ntoolchain "+pinnedToolchain+"\n")
	b, err := materialize(ctx, t.module("").Release(project, version, key.secret, dagger.ReliquaryReleaseOpts{
		Platforms: []string{"linux/amd64"}, Commit: commit, Repository: repository, SourceDateEpoch: commitTime,
	}).Bundle(), "pinned-toolchain")
	if err != nil {
		return err
	}
	for _, f := range []string{"deps.lock.json", "manifest.json"} {
		data, err := b.File(f).Contents(ctx)
		if err != nil {
			return err
		}
		if !strings.Contains(data, pinnedToolchain) {
			return fmt.Errorf("%s does not name %s:\n%s", f, pinnedToolchain, data)
		}
	}
	script := `set -e
mkdir /x && cd /x
for a in /bundle/artifacts/*_linux_amd64.tar.gz; do tar -xzf "$a"; done
for f in $(find /x -type f -perm -u+x); do go version "$f"; done`
	out, err := t.goImage().WithDirectory("/bundle", b).WithExec([]string{"sh", "-c", script}).Stdout(ctx)
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, l := range lines {
		if !strings.HasSuffix(l, ": "+pinnedToolchain) {
			return fmt.Errorf("a binary was not built with %s: %q", pinnedToolchain, l)
		}
	}
	if len(lines) < 2 {
		return fmt.Errorf("want both binaries of the project, go version found: %q", out)
	}
	if _, err := t.module("").Replay(ctx, b, project, key.pub); err != nil {
		return fmt.Errorf("replay of the pinned-toolchain release: %w", err)
	}
	return nil
}
