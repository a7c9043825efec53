package gitlog

import (
	"context"
	"path/filepath"
	"strings"
)

// RemoteURL returns the URL of remote name (usually "origin") as an absolute URI, or "" when
// there is none. Credentials embedded in the URL (user:token@host) are removed: the URL is
// published in provenance. git also accepts scp-like addresses (git@host:owner/repo.git) and
// local paths (a clone of a clone), which are not URIs: they become ssh:// and file:// URIs.
func (r *Repo) RemoteURL(ctx context.Context, name string) (string, error) {
	out, err := r.run(ctx, "config", "--get", "remote."+name+".url")
	if err != nil {
		if exitCode(err) == 1 { // no such key
			return "", nil
		}
		return "", err
	}
	return remoteURI(strings.TrimSpace(string(out)), r.dir), nil
}

// remoteURI turns any address git accepts for a remote into an absolute URI without
// credentials; a relative local path is relative to the repository, as git reads it.
func remoteURI(url, repoDir string) string {
	switch {
	case url == "":
		return ""
	case strings.Contains(url, "://"):
		return stripCredentials(url)
	case scpLike(url):
		host, path, _ := strings.Cut(url, ":")
		return stripCredentials("ssh://" + host + "/" + strings.TrimPrefix(path, "/"))
	default:
		if !filepath.IsAbs(url) {
			url = filepath.Join(repoDir, url)
		}
		return "file://" + filepath.ToSlash(filepath.Clean(url))
	}
}

// scpLike reports git's scp-like syntax, [user@]host:path: a colon before any slash.
func scpLike(url string) bool {
	colon := strings.Index(url, ":")
	slash := strings.Index(url, "/")
	return colon > 0 && (slash < 0 || colon < slash)
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
