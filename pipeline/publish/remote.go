package publish

import (
	"context"
	"net/http"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Credentials are a registry user and password. When empty, the docker config
// ($DOCKER_CONFIG/config.json, ~/.docker/config.json and its credential helpers) is used,
// then anonymous access. They are only ever sent to the registry: never logged, never
// written, and String hides the password.
type Credentials struct {
	Username, Password string
}

// String never shows the password.
func (c Credentials) String() string {
	if c.Username == "" {
		return "docker config or anonymous"
	}
	return "user " + c.Username + " (password hidden)"
}

// Remote is how to reach one registry.
type Remote struct {
	Credentials Credentials
	Transport   http.RoundTripper // nil: the default
}

func (r Remote) options(ctx context.Context) []remote.Option {
	opts := []remote.Option{remote.WithContext(ctx)}
	if r.Credentials.Username != "" || r.Credentials.Password != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: r.Credentials.Username, Password: r.Credentials.Password}))
	} else {
		opts = append(opts, remote.WithAuthFromKeychain(authn.DefaultKeychain))
	}
	if r.Transport != nil {
		opts = append(opts, remote.WithTransport(r.Transport))
	}
	return opts
}
