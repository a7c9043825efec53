package sign

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sentientos/reliquary/internal/atomicfile"
	"github.com/sentientos/reliquary/internal/safepath"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
)

// MaxMessageSize bounds a file signed with File: it is meant for the manifest (about 300
// bytes per artifact), not for artifacts, which are bound by their digests instead.
const MaxMessageSize = 64 << 20

// File signs DIR/name into DIR/name.sigstore.json (written atomically) and returns the path
// of the bundle it wrote. name is a slash-separated path inside dir; it may not leave dir.
func File(dir, name string, key *keys.PrivateKey) (string, error) {
	data, err := readInDir(dir, name)
	if err != nil {
		return "", err
	}
	b, err := Message(data, key)
	if err != nil {
		return "", fmt.Errorf("sign %s: %w", name, err)
	}
	out := filepath.Join(dir, filepath.FromSlash(name+BundleSuffix))
	if err := atomicfile.WriteFile(out, b, 0o644); err != nil {
		return "", fmt.Errorf("%w: %w", ErrSign, err)
	}
	return out, nil
}

// readInDir reads a bounded file through os.Root, so a symlink cannot lead outside dir.
func readInDir(dir, name string) ([]byte, error) {
	if err := safepath.Check(name); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrSign, name, err)
	}
	f, err := os.OpenInRoot(dir, filepath.FromSlash(name))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSign, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxMessageSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", ErrSign, filepath.Join(dir, name), err)
	}
	if len(data) > MaxMessageSize {
		return nil, fmt.Errorf("%w: %s: larger than %d bytes; sign a manifest of it instead", ErrSign, filepath.Join(dir, name), MaxMessageSize)
	}
	return data, nil
}

// Result is what Manifest wrote.
type Result struct {
	Bundle      string // DIR/manifest.json.sigstore.json
	PublicKey   string // DIR/keys/NAME.pub
	Fingerprint string // hex sha256 of the signing key's PKIX DER
}

// ErrNoManifest: the directory has no manifest.json to sign.
var ErrNoManifest = fmt.Errorf("%w: no %s (run `reliquary digest` first)", ErrSign, bundle.ManifestFile)

// ErrKeyNameTaken: keys/NAME.pub already holds a different public key.
var ErrKeyNameTaken = fmt.Errorf("%w: public key name taken by another key", ErrSign)

// Manifest is the sign stage's entry point: it signs DIR/manifest.json into
// DIR/manifest.json.sigstore.json and stores the public key as DIR/keys/keyName.pub, the
// release's trust bundle (shipped for convenience; a verifier trusts only keys it is given).
// keyName is a plain file name stem such as "release".
func Manifest(dir, keyName string, key *keys.PrivateKey) (Result, error) {
	if key == nil {
		return Result{}, fmt.Errorf("%w: no key", ErrSign)
	}
	if err := safepath.Check(keyName); err != nil || filepath.Base(keyName) != keyName {
		return Result{}, fmt.Errorf("%w: key name %q: want a plain file name", ErrSign, keyName)
	}
	if _, err := os.Stat(filepath.Join(dir, bundle.ManifestFile)); errors.Is(err, fs.ErrNotExist) {
		return Result{}, fmt.Errorf("%s: %w", dir, ErrNoManifest)
	}
	out, err := File(dir, bundle.ManifestFile, key)
	if err != nil {
		return Result{}, err
	}
	pub, err := writePublic(dir, keyName, key.PublicKey())
	if err != nil {
		return Result{}, err
	}
	return Result{Bundle: out, PublicKey: pub, Fingerprint: key.PublicKey().Fingerprint()}, nil
}

// writePublic writes keys/NAME.pub unless it already holds exactly this key.
func writePublic(dir, name string, pub *keys.PublicKey) (string, error) {
	kd := filepath.Join(dir, bundle.KeysDir)
	if err := os.MkdirAll(kd, 0o755); err != nil {
		return "", fmt.Errorf("%w: %w", ErrSign, err)
	}
	path := filepath.Join(kd, name+keys.PublicSuffix)
	if old, err := keys.LoadPublic(path); err == nil {
		if old.Equal(pub) {
			return path, nil
		}
		return "", fmt.Errorf("%s: %w (holds %s, signing with %s)", path, ErrKeyNameTaken, old, pub)
	} else if _, statErr := os.Lstat(path); statErr == nil {
		return "", fmt.Errorf("%w: %s exists and is not a public key: %w", ErrSign, path, err)
	}
	if err := atomicfile.WriteFile(path, pub.PEM(), 0o644); err != nil {
		return "", fmt.Errorf("%w: %w", ErrSign, err)
	}
	return path, nil
}
