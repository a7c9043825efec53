package keys

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// Environment variables PasswordFromEnv reads, in this order.
const (
	EnvPassword       = "RELIQUARY_PASSWORD"
	EnvCosignPassword = "COSIGN_PASSWORD"
)

// PasswordRequest says which password is wanted.
type PasswordRequest struct {
	Path    string // the key file being read or written
	Confirm bool   // a new password for a new key: a prompt asks twice
}

// PasswordFunc supplies the password protecting a key file. The caller wipes the returned
// slice after use, so a PasswordFunc must return a fresh copy each time.
type PasswordFunc func(PasswordRequest) ([]byte, error)

// StaticPassword always returns a copy of pw. For tests and for callers that already hold the
// password (a Dagger secret, for instance).
func StaticPassword(pw []byte) PasswordFunc {
	saved := bytes.Clone(pw)
	return func(PasswordRequest) ([]byte, error) { return bytes.Clone(saved), nil }
}

// PasswordFromEnv returns the value of RELIQUARY_PASSWORD if it is set, else COSIGN_PASSWORD
// (so cosign's key files work as cosign users expect), else prompts on the terminal when
// stdin is one, else fails with ErrNoPassword. A variable set to the empty string counts as
// set: cosign writes keys encrypted with an empty password that way.
func PasswordFromEnv() PasswordFunc {
	return func(req PasswordRequest) ([]byte, error) {
		for _, name := range []string{EnvPassword, EnvCosignPassword} {
			if v, ok := os.LookupEnv(name); ok {
				return []byte(v), nil
			}
		}
		if !term.IsTerminal(int(os.Stdin.Fd())) {
			return nil, fmt.Errorf("%w for %s: set %s (or %s), or run on a terminal",
				ErrNoPassword, req.Path, EnvPassword, EnvCosignPassword)
		}
		return prompt(int(os.Stdin.Fd()), os.Stderr, req)
	}
}

// prompt reads a password from the terminal fd without echo, twice when confirming.
func prompt(fd int, w io.Writer, req PasswordRequest) ([]byte, error) {
	fmt.Fprintf(w, "Password for %s: ", req.Path)
	pw, err := term.ReadPassword(fd)
	fmt.Fprintln(w)
	if err != nil {
		return nil, fmt.Errorf("read password for %s: %w", req.Path, err)
	}
	if !req.Confirm {
		return pw, nil
	}
	fmt.Fprintf(w, "Repeat password for %s: ", req.Path)
	again, err := term.ReadPassword(fd)
	fmt.Fprintln(w)
	defer wipe(again)
	if err != nil {
		wipe(pw)
		return nil, fmt.Errorf("read password for %s: %w", req.Path, err)
	}
	if !bytes.Equal(pw, again) {
		wipe(pw)
		return nil, fmt.Errorf("passwords for %s do not match", req.Path)
	}
	return pw, nil
}

// wipe overwrites secret bytes once they are no longer needed. Best effort: Go may have
// copied them, but no buffer of ours keeps them longer than necessary.
func wipe(b []byte) {
	for i := range b {
		b[i] = 0
	}
}
