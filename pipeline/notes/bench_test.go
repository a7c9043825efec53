package notes_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/sentientos/reliquary/internal/gitlog"
	"github.com/sentientos/reliquary/internal/gitlog/gittest"
	"github.com/sentientos/reliquary/pipeline/notes"
	"github.com/sentientos/reliquary/pipeline/version"
)

// BenchmarkCollectRender measures a release of 5000 commits: reading the history with git,
// parsing every message, grouping and rendering.
func BenchmarkCollectRender(b *testing.B) {
	g := gittest.New(b)
	g.Commit("feat: start")
	g.Tag("v0.9.0")
	kinds := []string{"feat(cli): add option %d", "fix: bug %d\n\nBody text for the fix.\n\nRefs: #%[1]d", "chore: tidy %d", "perf: faster %d", "Unconventional message %d"}
	msgs := make([]string, 5000)
	for i := range msgs {
		msgs[i] = fmt.Sprintf(kinds[i%len(kinds)], i)
	}
	g.Import(msgs)
	ctx := context.Background()
	repo, err := gitlog.Open(ctx, g.Dir)
	if err != nil {
		b.Fatal(err)
	}
	v := version.MustParse("v1.0.0")
	for b.Loop() {
		h, err := notes.Collect(ctx, repo, v)
		if err != nil {
			b.Fatal(err)
		}
		if len(h.Changes) != len(msgs) {
			b.Fatalf("%d changes, want %d", len(h.Changes), len(msgs))
		}
		if _, err := notes.Render(notes.Document{History: h}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParseMessage measures the conventional-commit parser on a typical message.
func BenchmarkParseMessage(b *testing.B) {
	msg := "feat(api)!: rename Verify to Check\n\nThe old name confused people.\n\nBREAKING CHANGE: callers must use Check.\nRefs: #42\nSigned-off-by: A <a@example.test>"
	for b.Loop() {
		notes.ParseMessage(msg)
	}
}
