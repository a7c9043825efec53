package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	"github.com/sentientos/reliquary/pipeline/keys"
)

// keyFlags are the flags of every command that signs: the private key file, and where its
// password comes from. The password never travels in argv: it comes from a file (a mounted
// secret), RELIQUARY_PASSWORD or COSIGN_PASSWORD, or a prompt on a terminal.
type keyFlags struct {
	key, passwordFile *string
}

func addKeyFlags(fs *flagSet) keyFlags {
	return keyFlags{
		key:          fs.String("key", "", "private signing key (PEM: reliquary's, cosign's encrypted key file, or PKCS#8)"),
		passwordFile: fs.String("password-file", "", "read the key's password from this file (default: $RELIQUARY_PASSWORD, $COSIGN_PASSWORD, or a prompt)"),
	}
}

// name is the stem the public key is shipped under in keys/: the key file's name without
// its extension ("release" for release.key).
func (k keyFlags) name() string {
	return strings.TrimSuffix(filepath.Base(*k.key), filepath.Ext(*k.key))
}

// loadLater returns a loader for release.Input.LoadKey when no prompt can be needed (the
// password comes from --password-file or the environment), so that the key's scrypt runs
// beside the first stages; otherwise it loads the key now, prompting on the terminal.
func (k keyFlags) loadLater() (*keys.PrivateKey, func() (*keys.PrivateKey, error), error) {
	_, env := os.LookupEnv(keys.EnvPassword)
	_, cosignEnv := os.LookupEnv(keys.EnvCosignPassword)
	if *k.key == "" || (*k.passwordFile == "" && !env && !cosignEnv) {
		key, err := k.load()
		return key, nil, err
	}
	return nil, k.load, nil
}

func (k keyFlags) load() (*keys.PrivateKey, error) {
	if *k.key == "" {
		return nil, usagef("--key is required")
	}
	pw := keys.PasswordFromEnv()
	if *k.passwordFile != "" {
		data, err := os.ReadFile(*k.passwordFile)
		if err != nil {
			return nil, usagef("--password-file: %v", err)
		}
		pw = keys.StaticPassword(bytes.TrimRight(data, "\r\n"))
		clear(data)
	}
	key, err := keys.Load(*k.key, pw)
	if err != nil {
		return nil, usageError(err)
	}
	return key, nil
}
