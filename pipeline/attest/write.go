package attest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/keys"
	"github.com/sentientos/reliquary/pipeline/sbom"
	"github.com/sentientos/reliquary/pipeline/sign"
)

// SignedBundle is one statement signed into a DSSE Sigstore bundle, and where it goes.
type SignedBundle struct {
	File   string // bundle path, as Statement.File
	Bundle []byte // Sigstore bundle v0.3 JSON
}

// Sign signs each statement with key into a DSSE Sigstore bundle (payload type PayloadType).
// pipeline/sign verifies every bundle against the key before returning it.
func Sign(stmts []Statement, key *keys.PrivateKey) ([]SignedBundle, error) {
	out := make([]SignedBundle, 0, len(stmts))
	for _, st := range stmts {
		b, err := sign.DSSE(st.JSON, PayloadType, key)
		if err != nil {
			return nil, fmt.Errorf("attest: sign %s: %w", st.File, err)
		}
		out = append(out, SignedBundle{File: st.File, Bundle: b})
	}
	return out, nil
}

// Output is what Write did.
type Output struct {
	Files    []string // the provenance bundles written, in shard order
	Subjects int      // subjects across all statements
	Removed  []string // shards of an earlier run beyond the new count, deleted
	SBOMs    []string // the SBOM attestations written (sboms/*.cdx.json.sigstore.json)
}

// Write is the attest stage's entry point: it builds the provenance for in, signs it with key,
// checks the statements against in's artifacts as the gate will, and writes the bundles into
// the release directory dir atomically. Shards a previous run left beyond the new count are
// removed, so a release that shrank cannot carry a stale shard.
func Write(dir string, in *Input, key *keys.PrivateKey) (*Output, error) {
	stmts, err := Build(in)
	if err != nil {
		return nil, err
	}
	check := make([]Signed, len(stmts))
	for i, st := range stmts {
		check[i] = Signed{File: st.File, Statement: st.JSON}
	}
	if probs := Check(check, in.Artifacts, in.Version); len(probs) > 0 {
		return nil, fmt.Errorf("attest: the statements built do not pass the gate's check: %s", probs[0])
	}
	signed, err := Sign(stmts, key)
	if err != nil {
		return nil, err
	}
	out := &Output{}
	for i, sb := range signed {
		if err := bundle.WriteFile(dir, sb.File, sb.Bundle); err != nil {
			return nil, fmt.Errorf("attest: %w", err)
		}
		out.Files = append(out.Files, sb.File)
		out.Subjects += stmts[i].Subjects
	}
	if out.Removed, err = removeStaleShards(dir, len(stmts)); err != nil {
		return nil, err
	}
	if out.SBOMs, err = writeSBOMAttestations(dir, in.Artifacts, key); err != nil {
		return nil, err
	}
	return out, nil
}

// writeSBOMAttestations signs one statement per SBOM the manifest lists (sboms/*.cdx.json),
// with the artifacts that ship its binary as subjects, and writes it beside the SBOM.
func writeSBOMAttestations(dir string, artifacts artifact.List, key *keys.PrivateKey) ([]string, error) {
	var out []string
	for _, a := range artifacts {
		if path.Dir(a.Path) != bundle.SBOMDir || !strings.HasSuffix(a.Path, ".cdx.json") {
			continue
		}
		data, err := readSBOM(dir, a)
		if err != nil {
			return nil, err
		}
		stmt, err := sbom.Statement(a.Path, data, artifacts)
		if err != nil {
			return nil, fmt.Errorf("attest: %w", err)
		}
		signed, err := sign.DSSE(stmt, PayloadType, key)
		if err != nil {
			return nil, fmt.Errorf("attest: sign %s: %w", a.Path, err)
		}
		file := sbom.AttestationFile(a.Path)
		if err := bundle.WriteFile(dir, file, signed); err != nil {
			return nil, fmt.Errorf("attest: %w", err)
		}
		out = append(out, file)
	}
	return out, nil
}

// readSBOM reads an SBOM the manifest lists and checks it is the file the manifest hashed.
func readSBOM(dir string, a artifact.Artifact) ([]byte, error) {
	b, err := bundle.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	defer b.Close()
	data, err := b.ReadFile(a.Path, sbom.MaxSize)
	if err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != a.Digest.SHA256 {
		return nil, fmt.Errorf("attest: %s changed since the manifest was written: digest again", a.Path)
	}
	return data, nil
}

// removeStaleShards deletes provenance-N.sigstore.json for N > count.
func removeStaleShards(dir string, count int) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("attest: %w", err)
	}
	var removed []string
	for _, e := range entries {
		if !bundle.IsProvenanceShard(e.Name()) {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(e.Name(), "provenance-"), ".sigstore.json"))
		if err != nil || n <= count {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("attest: remove stale shard: %w", err)
		}
		removed = append(removed, e.Name())
	}
	return removed, nil
}
