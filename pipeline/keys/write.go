package keys

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"

	"github.com/sentientos/reliquary/internal/atomicfile"
)

// File name suffixes Write appends to its prefix.
const (
	PrivateSuffix = ".key"
	PublicSuffix  = ".pub"
)

// Files names what Write wrote.
type Files struct {
	Private   string // PREFIX.key, mode 0600
	Public    string // PREFIX.pub, mode 0644
	Encrypted bool   // false only with Unencrypted
}

// WriteOption configures Write.
type WriteOption func(*writeConfig)

type writeConfig struct {
	password    PasswordFunc
	unencrypted bool
}

// WithPassword encrypts the private key with the password pw returns (asked with
// Confirm set). An empty password is refused: use Unencrypted to say so explicitly.
func WithPassword(pw PasswordFunc) WriteOption {
	return func(c *writeConfig) { c.password = pw }
}

// Unencrypted writes the private key as plain PKCS#8 PEM. Anyone who can read the file can
// sign; the caller should tell the user so.
func Unencrypted() WriteOption {
	return func(c *writeConfig) { c.unencrypted = true }
}

// Write stores k as PREFIX.key and PREFIX.pub. It needs exactly one of WithPassword or
// Unencrypted, refuses to replace either file if it exists (ErrExists), and writes each
// atomically; if the public key cannot be written the private key file is removed again.
func Write(prefix string, k *PrivateKey, opts ...WriteOption) (Files, error) {
	var c writeConfig
	for _, o := range opts {
		o(&c)
	}
	if (c.password == nil) == !c.unencrypted {
		return Files{}, fmt.Errorf("keys: write %s: want exactly one of WithPassword or Unencrypted", prefix)
	}
	files := Files{Private: prefix + PrivateSuffix, Public: prefix + PublicSuffix, Encrypted: !c.unencrypted}
	for _, name := range []string{files.Private, files.Public} {
		if _, err := os.Lstat(name); !errIsNotExist(err) {
			return Files{}, fmt.Errorf("keys: write %s: %w (refusing to replace a key)", name, ErrExists)
		}
	}
	block, err := privateBlock(k, files.Private, c)
	if err != nil {
		return Files{}, fmt.Errorf("keys: write %s: %w", files.Private, err)
	}
	defer wipe(block.Bytes)
	if err := atomicfile.Write(files.Private, 0o600, func(w io.Writer) error { return pem.Encode(w, block) }); err != nil {
		return Files{}, fmt.Errorf("keys: %w", err)
	}
	if err := atomicfile.WriteFile(files.Public, k.pub.PEM(), 0o644); err != nil {
		os.Remove(files.Private)
		return Files{}, fmt.Errorf("keys: %w", err)
	}
	return files, nil
}

// privateBlock encodes k as PKCS#8, encrypted in cosign's format unless c says otherwise.
func privateBlock(k *PrivateKey, path string, c writeConfig) (*pem.Block, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	if c.unencrypted {
		return &pem.Block{Type: PKCS8PEMType, Bytes: der}, nil
	}
	defer wipe(der)
	pass, err := c.password(PasswordRequest{Path: path, Confirm: true})
	if err != nil {
		return nil, err
	}
	defer wipe(pass)
	if len(pass) == 0 {
		return nil, fmt.Errorf("%w: empty password (write an unencrypted key explicitly instead)", ErrNoPassword)
	}
	// The same call and default scrypt parameters cosign uses, so cosign can read the file.
	enc, err := encrypted.Encrypt(der, pass)
	if err != nil {
		return nil, fmt.Errorf("encrypt private key: %w", err)
	}
	return &pem.Block{Type: EncryptedPEMType, Bytes: enc}, nil
}
