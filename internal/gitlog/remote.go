package gitlog

import (
	"context"
	"strings"
)

// RemoteURL returns the URL of remote name (usually "origin"), or "" when there is none.
// Credentials embedded in an https URL (user:token@host) are removed: the URL is published
// in provenance.
func (r *Repo) RemoteURL(ctx context.Context, name string) (string, error) {
	out, err := r.run(ctx, "config", "--get", "remote."+name+".url")
	if err != nil {
		if exitCode(err) == 1 { // no such key
			return "", nil
		}
		return "", err
	}
	return stripCredentials(strings.TrimSpace(string(out))), nil
}

func stripCredentials(url string) string {
	scheme, rest, ok := strings.Cut(url, "://")
	if !ok {
		return url
	}
	host, path, _ := strings.Cut(rest, "/")
	if i := strings.LastIndex(host, "@"); i >= 0 {
		host = host[i+1:]
	}
	if path == "" {
		return scheme + "://" + host
	}
	return scheme + "://" + host + "/" + path
}
