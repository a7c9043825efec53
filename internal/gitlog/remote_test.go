package gitlog

import "testing"

// TestRemoteURI: every address git accepts for a remote becomes an absolute URI without
// credentials, since the provenance requires one (a clone of a local clone failed the
// release before).
func TestRemoteURI(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://github.com/o/r.git", "https://github.com/o/r.git"},
		{"https://user:token@github.com/o/r", "https://github.com/o/r"},
		{"ssh://git@github.com/o/r.git", "ssh://github.com/o/r.git"},
		{"git@github.com:o/r.git", "ssh://github.com/o/r.git"},
		{"github.com:o/r", "ssh://github.com/o/r"},
		{"/work/main", "file:///work/main"},
		{"/work/main/../other/", "file:///work/other"},
		{"../upstream", "file:///src/upstream"},
		{"", ""},
	} {
		if got := remoteURI(tc.in, "/src/repo"); got != tc.want {
			t.Errorf("remoteURI(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
