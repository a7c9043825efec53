package main

import (
	"bytes"
	"errors"
	"os"

	"github.com/sentientos/reliquary/pipeline/publish"
)

// registryFlags are the flags of every command that talks to a registry. Credentials never
// travel in argv: the password comes from a file or the environment, else the docker
// config (and its credential helpers) is used.
type registryFlags struct {
	username, passwordFile *string
	insecure               *bool
}

func addRegistryFlags(fs *flagSet, which string) registryFlags {
	return registryFlags{
		username:     fs.String("registry-username", "", "user for "+which+" (default: $RELIQUARY_REGISTRY_USERNAME, else the docker config)"),
		passwordFile: fs.String("registry-password-file", "", "read the registry password from this file (default: $RELIQUARY_REGISTRY_PASSWORD)"),
		insecure:     fs.Bool("allow-http", false, "allow plain HTTP to the registry (always allowed for localhost and 127.0.0.1)"),
	}
}

// remote is how to reach the registry; it reads the password, never logs it.
func (r registryFlags) remote() (publish.Remote, error) {
	user := *r.username
	if user == "" {
		user = os.Getenv("RELIQUARY_REGISTRY_USERNAME")
	}
	pw := os.Getenv("RELIQUARY_REGISTRY_PASSWORD")
	if *r.passwordFile != "" {
		data, err := os.ReadFile(*r.passwordFile)
		if err != nil {
			return publish.Remote{}, usagef("--registry-password-file: %v", err)
		}
		pw = string(bytes.TrimRight(data, "\r\n"))
	}
	if (user == "") != (pw == "") {
		return publish.Remote{}, usagef("registry credentials need both a user (--registry-username, $RELIQUARY_REGISTRY_USERNAME) and a password (--registry-password-file, $RELIQUARY_REGISTRY_PASSWORD)")
	}
	return publish.Remote{Credentials: publish.Credentials{Username: user, Password: pw}}, nil
}

func (r registryFlags) target(s string) (publish.Target, error) {
	t, err := publish.ParseTarget(s, *r.insecure)
	if err != nil {
		return publish.Target{}, usageError(err)
	}
	return t, nil
}

// registryError maps a registry error to an exit code: what the registry holds is not an
// intact release (1), or the registry could not be used (2: unreachable, refused
// credentials, a missing tag).
func registryError(err error) error {
	if errors.Is(err, publish.ErrRegistry) {
		return gateFailed(err)
	}
	return usageError(err)
}
