package keys

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"
)

// PEM block types of private key files.
const (
	// EncryptedPEMType is what Write and `cosign generate-key-pair` write today.
	EncryptedPEMType = "ENCRYPTED SIGSTORE PRIVATE KEY"
	// CosignEncryptedPEMType is what older cosign releases wrote; same encryption.
	CosignEncryptedPEMType = "ENCRYPTED COSIGN PRIVATE KEY"
	// PKCS8PEMType is an unencrypted PKCS#8 key (Write with Unencrypted, openssl genpkey).
	PKCS8PEMType = "PRIVATE KEY"
	// SEC1PEMType is an unencrypted SEC1 EC key (openssl ecparam -genkey).
	SEC1PEMType = "EC PRIVATE KEY"
)

// MaxKeyFileSize bounds how much of a key file is read: real key files are under 1 KiB.
const MaxKeyFileSize = 64 << 10

// Load reads a private key file. Encrypted files (ours or cosign's) take their password from
// pw, which may be nil for unencrypted files. Errors name path and the reason; a wrong
// password is ErrWrongPassword.
func Load(path string, pw PasswordFunc) (*PrivateKey, error) {
	data, err := readLimited(path)
	if err != nil {
		return nil, err
	}
	defer wipe(data)
	k, err := parsePrivate(data, path, pw)
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w", path, err)
	}
	return k, nil
}

// parsePrivate decodes the single PEM block of a private key file.
func parsePrivate(data []byte, path string, pw PasswordFunc) (*PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrMalformed)
	}
	defer wipe(block.Bytes)
	switch block.Type {
	case EncryptedPEMType, CosignEncryptedPEMType:
		der, err := decrypt(block.Bytes, path, pw)
		if err != nil {
			return nil, err
		}
		defer wipe(der)
		return parsePKCS8(der)
	case PKCS8PEMType:
		return parsePKCS8(block.Bytes)
	case SEC1PEMType:
		priv, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			// The parser's message never includes key bytes, but keep ours uniform.
			return nil, fmt.Errorf("%w: not a SEC1 EC private key", ErrMalformed)
		}
		return newPrivateKey(priv)
	default:
		return nil, fmt.Errorf("%w: PEM type %q is not a private key type this tool reads", ErrMalformed, block.Type)
	}
}

// decrypt opens cosign's scrypt + secretbox envelope, asking pw again after a wrong password
// while it has others to offer (up to maxAttempts).
func decrypt(ciphertext []byte, path string, pw PasswordFunc) ([]byte, error) {
	if pw == nil {
		return nil, fmt.Errorf("%w: the key is encrypted", ErrNoPassword)
	}
	for retry := range maxAttempts {
		pass, err := pw(PasswordRequest{Path: path, Retry: retry})
		if err != nil {
			if retry > 0 && errors.Is(err, ErrNoPassword) {
				break // every password on offer was wrong
			}
			return nil, err
		}
		der, err := encrypted.Decrypt(ciphertext, pass)
		wipe(pass)
		if err == nil {
			return der, nil
		}
		// go-securesystemslib says "decryption failed" for a wrong password (the MAC does
		// not check); anything else is a damaged envelope. Neither message holds secrets.
		if err.Error() != "encrypted: decryption failed" {
			return nil, fmt.Errorf("%w: encrypted key: %w", ErrMalformed, err)
		}
	}
	return nil, ErrWrongPassword
}

func parsePKCS8(der []byte) (*PrivateKey, error) {
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: not a PKCS#8 private key", ErrMalformed)
	}
	priv, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: got %T", ErrUnsupported, key)
	}
	return newPrivateKey(priv)
}

// readLimited reads a small file, refusing ones larger than MaxKeyFileSize.
func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", path, err)
	}
	if len(data) > MaxKeyFileSize {
		wipe(data)
		return nil, fmt.Errorf("key %s: %w: larger than %d bytes", path, ErrMalformed, MaxKeyFileSize)
	}
	return data, nil
}

// errIsNotExist reports whether err says a file does not exist.
func errIsNotExist(err error) bool { return errors.Is(err, os.ErrNotExist) }
