// Package registrytest starts a real OCI registry for tests: Debian's docker-registry (the
// CNCF distribution registry), on 127.0.0.1 with a free port and a temporary storage
// directory, stopped when the test ends. Tests that need it skip without the binary, or fail
// when RELIQUARY_REQUIRE_INTEROP=1 (CI installs it and sets that).
package registrytest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Registry is one running registry server.
type Registry struct {
	Host    string // 127.0.0.1:PORT
	Storage string // the filesystem driver's root directory
	cmd     *exec.Cmd
	log     *os.File
}

// Option configures a registry.
type Option func(*settings)

type settings struct{ user, password string }

// WithBasicAuth makes the registry require user and password (htpasswd, bcrypt).
func WithBasicAuth(user, password string) Option {
	return func(s *settings) { s.user, s.password = user, password }
}

// Binary finds docker-registry: $RELIQUARY_REGISTRY, then PATH, then /usr/bin.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("RELIQUARY_REGISTRY"); p != "" {
		return p
	}
	if p, err := exec.LookPath("docker-registry"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/bin/docker-registry"); err == nil {
		return "/usr/bin/docker-registry"
	}
	const missing = "docker-registry not found: apt-get install docker-registry (CI's .ci/run does), or set RELIQUARY_REGISTRY"
	if os.Getenv("RELIQUARY_REQUIRE_INTEROP") == "1" {
		t.Fatal(missing)
	}
	t.Skip(missing)
	return ""
}

// Start starts a registry and stops it when the test ends.
func Start(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	return StartAt(t, t.TempDir(), opts...)
}

// StartAt starts a registry over an existing storage directory (to restart one).
func StartAt(t testing.TB, storage string, opts ...Option) *Registry {
	t.Helper()
	bin := Binary(t)
	var s settings
	for _, o := range opts {
		o(&s)
	}
	dir := t.TempDir()
	host := freeAddr(t)
	config := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", storage, host)
	if s.user != "" {
		hash, err := bcrypt.GenerateFromPassword([]byte(s.password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		htpasswd := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(htpasswd, []byte(s.user+":"+string(hash)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		config += fmt.Sprintf("auth:\n  htpasswd:\n    realm: test\n    path: %s\n", htpasswd)
	}
	cfgFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(filepath.Join(dir, "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfgFile)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	r := &Registry{Host: host, Storage: storage, cmd: cmd, log: log}
	t.Cleanup(r.Stop)
	r.waitReady(t)
	return r
}

// Stop kills the server (as a crash would) and waits for it; safe to call twice.
func (r *Registry) Stop() {
	if r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.log.Close()
	}
}

// waitReady polls /v2/ until the server answers (200, or 401 with auth on).
func (r *Registry) waitReady(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.Host+"/v2/", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	data, _ := os.ReadFile(r.log.Name())
	t.Fatalf("registry on %s did not start: %s", r.Host, strings.TrimSpace(string(data)))
}

// freeAddr picks a free loopback port. Another process could take it before the registry
// binds it; the registry then fails to start and waitReady says so.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
