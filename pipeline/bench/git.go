package bench

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/sentientos/reliquary/internal/safepath"
)

// checkout is where a source tree sits in git: its commit and its place in the repository.
type checkout struct {
	commit string // HEAD
	dirty  bool   // uncommitted changes, including untracked files
	top    string // the repository's top-level directory
	prefix string // the source directory relative to top, "" or ending in "/"
}

func git(ctx context.Context, dir string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", dir}, args...)...)
	// No pager, no prompts, and no locale-dependent messages to parse.
	cmd.Env = append(os.Environ(), "GIT_PAGER=cat", "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	return cmd
}

func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	out, err := runOutput(git(ctx, dir, args...), MaxOutput, "git "+strings.Join(args, " ")+" (in "+dir+")")
	return strings.TrimSpace(string(out)), err
}

// inspect describes the git checkout dir is in. ok is false when dir is not in a work tree.
func inspect(ctx context.Context, dir string) (c checkout, ok bool, err error) {
	inside, err := gitOutput(ctx, dir, "rev-parse", "--is-inside-work-tree")
	if err != nil || inside != "true" {
		return checkout{}, false, nil
	}
	if c.commit, err = gitOutput(ctx, dir, "rev-parse", "--verify", "HEAD^{commit}"); err != nil {
		return c, true, err
	}
	if c.top, err = gitOutput(ctx, dir, "rev-parse", "--show-toplevel"); err != nil {
		return c, true, err
	}
	if c.prefix, err = gitOutput(ctx, dir, "rev-parse", "--show-prefix"); err != nil {
		return c, true, err
	}
	status, err := gitOutput(ctx, dir, "status", "--porcelain")
	if err != nil {
		return c, true, err
	}
	c.dirty = status != ""
	return c, true, nil
}

// resolveRef returns the commit ref names. A ref that starts with '-' is refused rather than
// passed where git would read it as an option.
func resolveRef(ctx context.Context, dir, ref string) (string, error) {
	if ref == "" || strings.HasPrefix(ref, "-") || strings.ContainsAny(ref, "\x00\n") {
		return "", fmt.Errorf("bench: baseline ref %q is not a valid git ref", ref)
	}
	commit, err := gitOutput(ctx, dir, "rev-parse", "--verify", "--quiet", "--end-of-options", ref+"^{commit}")
	if err != nil || !isHex(commit) {
		return "", fmt.Errorf("bench: baseline ref %q: no such commit in the repository at %s", ref, dir)
	}
	return commit, nil
}

// exportCommit writes the whole tree of commit (repoDir must be the top level: from a
// subdirectory git archives only that subdirectory) into dest (which must exist and be empty) from
// `git archive`, leaving the repository untouched: no worktree entry to clean up after a
// crash, and a read-only checkout works. Submodules are not included.
func exportCommit(ctx context.Context, repoDir, commit, dest string) error {
	cmd := git(ctx, repoDir, "archive", "--format=tar", commit)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	errTail := &tail{}
	cmd.Stderr = errTail
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("bench: git archive %s: %w", commit, err)
	}
	extractErr := extractTar(stdout, dest)
	// Drain what is left so git exits; an extraction error wins over git's broken pipe.
	_, _ = io.Copy(io.Discard, stdout)
	waitErr := cmd.Wait()
	if extractErr != nil {
		return fmt.Errorf("bench: export baseline %s: %w", commit, extractErr)
	}
	if waitErr != nil {
		return fmt.Errorf("bench: git archive %s: %w\n%s", commit, waitErr, errTail.String())
	}
	return nil
}

// extractTar writes a git archive into dest through os.Root, so no entry can land outside it.
func extractTar(r io.Reader, dest string) error {
	root, err := os.OpenRoot(dest)
	if err != nil {
		return err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := extractEntry(root, tr, h); err != nil {
			return err
		}
	}
}

func extractEntry(root *os.Root, tr *tar.Reader, h *tar.Header) error {
	name := strings.TrimSuffix(h.Name, "/")
	if h.Typeflag == tar.TypeXGlobalHeader {
		return nil // git's pax header carrying the commit id
	}
	if err := safepath.Check(name); err != nil {
		return fmt.Errorf("archive entry: %w", err)
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return root.MkdirAll(name, 0o755)
	case tar.TypeReg:
		if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if h.Mode&0o111 != 0 {
			mode = 0o755
		}
		f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, tr)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	case tar.TypeSymlink:
		if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		return root.Symlink(h.Linkname, name)
	default:
		return fmt.Errorf("archive entry %s: unexpected type %q", name, h.Typeflag)
	}
}
