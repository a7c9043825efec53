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
	// Retry is 0 on the first request for a file and n after n wrong passwords. A source
	// with nothing else to offer returns ErrNoPassword, and Load reports the wrong password.
	Retry int
}

// maxAttempts bounds how many passwords Load tries for one file (each costs an scrypt run).
const maxAttempts = 3

// PasswordFunc supplies the password protecting a key file. The caller wipes the returned
// slice after use, so a PasswordFunc must return a fresh copy each time.
type PasswordFunc func(PasswordRequest) ([]byte, error)

// StaticPassword returns a copy of pw on the first request (and nothing on a retry). For
// tests and for callers that already hold the password (a Dagger secret, for instance).
func StaticPassword(pw []byte) PasswordFunc {
	saved := bytes.Clone(pw)
	return func(req PasswordRequest) ([]byte, error) {
		if req.Retry > 0 {
			return nil, ErrNoPassword
		}
		return bytes.Clone(saved), nil
	}
}

// PasswordFromEnv returns the value of RELIQUARY_PASSWORD if it is set, and on a retry (that
// one was wrong) COSIGN_PASSWORD, so that a cosign key file opens with the variable cosign
// users already set even when RELIQUARY_PASSWORD holds another key's password. With neither
// set it prompts on the terminal when stdin is one, else fails with ErrNoPassword. A variable
// set to the empty string counts as set: cosign writes keys encrypted with an empty password
// that way. A new key's password (Confirm) comes from the first variable set.
func PasswordFromEnv() PasswordFunc {
	return func(req PasswordRequest) ([]byte, error) {
		var values []string
		for _, name := range []string{EnvPassword, EnvCosignPassword} {
			if v, ok := os.LookupEnv(name); ok && (len(values) == 0 || values[0] != v) {
				values = append(values, v)
			}
		}
		if len(values) > 0 {
			if req.Retry < len(values) {
				return []byte(values[req.Retry]), nil
			}
			return nil, ErrNoPassword
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
	if req.Retry > 0 {
		fmt.Fprintln(w, "Wrong password; try again.")
	}
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
