package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sentientos/reliquary/pipeline/keys"
)

// runKeygen makes an ECDSA P-256 key pair: PREFIX.key (cosign's encrypted format, mode 0600)
// and PREFIX.pub. stdout lists the files written.
func runKeygen(_ context.Context, cli *cliEnv, args []string) error {
	fs := newFlagSet(cli, "keygen", "PREFIX")
	noPassword := fs.Bool("no-password", false, "write PREFIX.key unencrypted (anyone who can read it can sign)")
	passwordFile := fs.String("password-file", "", "read the new key's password from this file (default: $RELIQUARY_PASSWORD, $COSIGN_PASSWORD, or a prompt)")
	pos, err := fs.parse(args, 1)
	if err != nil {
		return err
	}
	if ext := filepath.Ext(pos[0]); ext == keys.PrivateSuffix || ext == keys.PublicSuffix {
		return usagef("PREFIX %q ends in %s: give the name without it (keygen writes PREFIX.key and PREFIX.pub)", pos[0], ext)
	}
	opt, err := keygenProtection(*noPassword, *passwordFile)
	if err != nil {
		return err
	}
	key, err := keys.Generate()
	if err != nil {
		return err
	}
	files, err := keys.Write(pos[0], key, opt)
	if err != nil {
		if errors.Is(err, keys.ErrNoPassword) {
			return usagef("%v (or pass --no-password)", err)
		}
		return usageError(err)
	}
	if !files.Encrypted {
		cli.log.Warn("private key written UNENCRYPTED (--no-password): protect the file", "file", files.Private)
	}
	cli.log.Info("key pair written", "private", files.Private, "public", files.Public,
		"encrypted", files.Encrypted, "fingerprint", key.PublicKey().Fingerprint())
	fmt.Fprintln(cli.stdout, files.Private)
	fmt.Fprintln(cli.stdout, files.Public)
	return nil
}

// keygenProtection turns the flags into keys.Write's option: unencrypted, a password file
// (a mounted secret in CI), or the environment and terminal.
func keygenProtection(noPassword bool, passwordFile string) (keys.WriteOption, error) {
	switch {
	case noPassword && passwordFile != "":
		return nil, usagef("--no-password and --password-file exclude each other")
	case noPassword:
		return keys.Unencrypted(), nil
	case passwordFile != "":
		data, err := os.ReadFile(passwordFile)
		if err != nil {
			return nil, usagef("--password-file: %v", err)
		}
		defer clear(data)
		return keys.WithPassword(keys.StaticPassword(bytes.TrimRight(data, "\r\n"))), nil
	default:
		return keys.WithPassword(keys.PasswordFromEnv()), nil
	}
}
