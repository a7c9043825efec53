package trail

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/sentientos/reliquary/pipeline/artifact"
	"github.com/sentientos/reliquary/pipeline/bundle"
	"github.com/sentientos/reliquary/pipeline/digest"
	"github.com/sentientos/reliquary/pipeline/freeze"
)

// SourceTree is the name the source tree's digest (pipeline/source.TreeDigest) is recorded
// under: it is no file, but the whole tree a stage read.
const SourceTree = "source-tree"

// FreezeStep is what the freeze stage records, whether the release runner or `reliquary
// freeze` ran it: go.mod and go.sum in (as the lock recorded them), the lock file written to
// lockFile out, under its bundle name deps.lock.json.
func FreezeStep(command []string, lock *freeze.Lock, lockFile string) Step {
	in := []File{{Path: "go.mod", SHA256: hexOf(lock.Files.GoMod)}}
	if lock.Files.GoSum != "" { // a module without dependencies has no go.sum
		in = append(in, File{Path: "go.sum", SHA256: hexOf(lock.Files.GoSum)})
	}
	step := Step{Command: command, Inputs: in, Outputs: []File{FileAs(bundle.DepsLockFile, lockFile)}}
	if lock.VerifiedFromMemo() {
		step.Notes = map[string]string{"go-mod-verify": "memo: the module cache is unchanged since go mod verify passed"}
	}
	return step
}

// BuildStep is what the build stage records: the source tree's digest (sha256:HEX) and the
// lock file it was checked against (under its bundle name) in, every artifact out.
func BuildStep(command []string, treeDigest, lockFile string, artifacts artifact.List, notes map[string]string) Step {
	return Step{
		Command: command,
		Inputs:  []File{{Path: SourceTree, SHA256: hexOf(treeDigest)}, FileAs(bundle.DepsLockFile, lockFile)},
		Outputs: ArtifactFiles(artifacts),
		Notes:   notes,
	}
}

// ArtifactFiles lists artifacts with the SHA-256 the stage that made them computed.
func ArtifactFiles(l artifact.List) []File {
	out := make([]File, 0, len(l))
	for _, a := range l {
		out = append(out, File{Path: a.Path, SHA256: a.Digest.SHA256})
	}
	return out
}

// FilesOf hashes files under dir (slash paths relative to it) for the trail.
func FilesOf(dir string, paths ...string) []File {
	out := make([]File, 0, len(paths))
	for _, p := range paths {
		out = append(out, FileAs(p, filepath.Join(dir, filepath.FromSlash(p))))
	}
	return out
}

// FileAs hashes the file at path and records it under name. A file that cannot be read is
// recorded without a digest rather than failing a stage that already succeeded; WriteRecord
// refuses such a record, and a link leaves the file out.
func FileAs(name, path string) File {
	f := File{Path: name}
	if data, err := os.ReadFile(path); err == nil {
		f.SHA256 = digest.Bytes(data)
	}
	return f
}

func hexOf(d string) string { return strings.TrimPrefix(d, "sha256:") }

// DigestStep is what the digest stage records: every artifact it hashed in (with the digest
// it computed), the manifest and checksums it wrote into the bundle at dir out.
func DigestStep(command []string, dir string, artifacts artifact.List) Step {
	return Step{
		Command: command,
		Inputs:  ArtifactFiles(artifacts),
		Outputs: FilesOf(dir, bundle.ManifestFile, bundle.ChecksumsFile),
	}
}

// SignStep is what the sign stage records: the manifest of the bundle at dir in, its signature
// and the public key it shipped (pubKey, a slash path in the bundle such as keys/release.pub)
// out.
func SignStep(command []string, dir, pubKey string) Step {
	return Step{
		Command: command,
		Inputs:  FilesOf(dir, bundle.ManifestFile),
		Outputs: FilesOf(dir, bundle.ManifestSigFile, pubKey),
	}
}
