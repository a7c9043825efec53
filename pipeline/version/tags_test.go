package version_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sentientos/reliquary/pipeline/version"
)

var repoTags = []version.Tag{
	{Name: "v0.9.0", Commit: "c090"},
	{Name: "v1.0.0-rc.1", Commit: "c100rc1"},
	{Name: "nightly", Commit: "cnightly"},
	{Name: "v0.8.0rc1", Commit: "cold"},
}

func TestReleases(t *testing.T) {
	rs, ignored := version.Releases(repoTags)
	var names []string
	for _, r := range rs {
		names = append(names, r.Tag())
	}
	if !reflect.DeepEqual(names, []string{"v0.9.0", "v1.0.0-rc.1"}) {
		t.Errorf("releases = %v", names)
	}
	if !reflect.DeepEqual(ignored, []string{"nightly", "v0.8.0rc1"}) {
		t.Errorf("ignored = %v", ignored)
	}
	latest, ok := version.Latest(repoTags)
	if !ok || latest.Tag() != "v1.0.0-rc.1" || latest.Commit != "c100rc1" {
		t.Errorf("Latest = %v %v", latest, ok)
	}
	if _, ok := version.Latest(nil); ok {
		t.Error("Latest(nil) found a release")
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name      string
		requested string
		tags      []version.Tag
		opts      []version.Option
		err       error
		msg       string
	}{
		{name: "first release", requested: "v0.1.0"},
		{name: "next rc", requested: "v1.0.0-rc.2", tags: repoTags},
		{name: "final after rc", requested: "v1.0.0", tags: repoTags},
		{name: "rc.10 after rc.9", requested: "v1.0.0-rc.10", tags: []version.Tag{{"v1.0.0-rc.9", "a"}}},
		{name: "rc.2 after rc.10", requested: "v1.0.0-rc.2", tags: []version.Tag{{"v1.0.0-rc.10", "a"}},
			err: version.ErrNotGreater, msg: "v1.0.0-rc.2 is not greater than v1.0.0-rc.10"},
		{name: "older line", requested: "v0.9.1", tags: repoTags, err: version.ErrNotGreater, msg: "the latest release"},
		{name: "older line forced", requested: "v0.9.1", tags: repoTags, opts: []version.Option{version.AllowNotGreaterUnsafe()}},
		{name: "rc before beta", requested: "v1.0.0-beta.1", tags: repoTags, err: version.ErrNotGreater},
		{name: "existing tag, unknown commit", requested: "v1.0.0-rc.1", tags: repoTags, err: version.ErrTagConflict},
		{name: "existing tag, other commit", requested: "v1.0.0-rc.1", tags: repoTags,
			opts: []version.Option{version.AtCommit("other")}, err: version.ErrTagConflict, msg: "not at the release commit other"},
		{name: "existing tag, other commit, forced", requested: "v1.0.0-rc.1", tags: repoTags,
			opts: []version.Option{version.AtCommit("other"), version.AllowNotGreaterUnsafe()}, err: version.ErrTagConflict},
		{name: "re-run at the tagged commit", requested: "v1.0.0-rc.1", tags: repoTags, opts: []version.Option{version.AtCommit("c100rc1")}},
		{name: "re-run of an old release", requested: "v0.9.0", tags: repoTags, opts: []version.Option{version.AtCommit("c090")},
			err: version.ErrNotGreater},
		{name: "bad version", requested: "v1.0.0-rc10", tags: repoTags, err: version.ErrPrerelease},
		{name: "not semver", requested: "one", tags: repoTags, err: version.ErrNotSemver},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := version.Check(tt.requested, tt.tags, tt.opts...)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				if v.String() != tt.requested {
					t.Errorf("Check = %s, want %s", v, tt.requested)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("Check error = %v, want %v", err, tt.err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

func TestCheckPromotion(t *testing.T) {
	withRC2 := append(append([]version.Tag(nil), repoTags...), version.Tag{Name: "v1.0.0-rc.2", Commit: "c100rc2"})
	tests := []struct {
		name      string
		rc, final string
		tags      []version.Tag
		opts      []version.Option
		err       error
		msg       string
	}{
		{name: "rc.1 to final", rc: "v1.0.0-rc.1", final: "v1.0.0", tags: repoTags},
		{name: "rc never released", rc: "v1.0.0-rc.2", final: "v1.0.0", tags: repoTags, err: version.ErrPromotion, msg: "never released"},
		{name: "no tags at all", rc: "v1.0.0-rc.1", final: "v1.0.0", err: version.ErrPromotion, msg: "never released"},
		{name: "wrong final", rc: "v1.0.0-rc.1", final: "v1.0.1", tags: repoTags, err: version.ErrPromotion, msg: "only be promoted to v1.0.0"},
		{name: "final is a pre-release", rc: "v1.0.0-rc.1", final: "v1.0.0-rc.2", tags: repoTags, err: version.ErrPromotion},
		{name: "from a beta", rc: "v1.0.0-beta.1", final: "v1.0.0", tags: []version.Tag{{"v1.0.0-beta.1", "b"}}, err: version.ErrPromotion, msg: "not a release candidate"},
		{name: "stale rc", rc: "v1.0.0-rc.1", final: "v1.0.0", tags: withRC2, err: version.ErrPromotion, msg: "v1.0.0-rc.2 was released after v1.0.0-rc.1"},
		{name: "stale rc forced", rc: "v1.0.0-rc.1", final: "v1.0.0", tags: withRC2, opts: []version.Option{version.AllowStaleCandidateUnsafe()}},
		{name: "latest rc", rc: "v1.0.0-rc.2", final: "v1.0.0", tags: withRC2},
		{name: "final already at rc commit", rc: "v1.0.0-rc.1", final: "v1.0.0",
			tags: append(append([]version.Tag(nil), repoTags...), version.Tag{Name: "v1.0.0", Commit: "c100rc1"})},
		{name: "final tag elsewhere", rc: "v1.0.0-rc.1", final: "v1.0.0",
			tags: append(append([]version.Tag(nil), repoTags...), version.Tag{Name: "v1.0.0", Commit: "elsewhere"}), err: version.ErrTagConflict},
		{name: "newer release exists", rc: "v1.0.0-rc.1", final: "v1.0.0",
			tags: append(append([]version.Tag(nil), repoTags...), version.Tag{Name: "v1.1.0", Commit: "c110"}), err: version.ErrNotGreater},
		{name: "bad rc", rc: "v1.0.0-rc1", final: "v1.0.0", tags: repoTags, err: version.ErrPrerelease, msg: "release candidate"},
		{name: "bad final", rc: "v1.0.0-rc.1", final: "1.0.0", tags: repoTags, err: version.ErrNotSemver, msg: "final version"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := version.CheckPromotion(tt.rc, tt.final, tt.tags, tt.opts...)
			if tt.err == nil {
				if err != nil {
					t.Fatalf("CheckPromotion: %v", err)
				}
				if p.RC.String() != tt.rc || p.Final.String() != tt.final || p.RCCommit == "" {
					t.Errorf("CheckPromotion = %+v", p)
				}
				return
			}
			if !errors.Is(err, tt.err) {
				t.Fatalf("CheckPromotion error = %v, want %v", err, tt.err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}
