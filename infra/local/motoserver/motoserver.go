// Package motoserver starts moto_server, a real Secrets Manager API over HTTP,
// on a free loopback port, for make run and the integration tests.
//
//	srv, err := motoserver.Start(ctx)
//	if err != nil { ... }
//	defer srv.Close()
//	client := secretsmanager.NewFromConfig(srv.AWSConfig())
//
// In tests, ForTest does the same and skips when moto_server is missing,
// except under CI=true, where a missing moto_server fails the test.
//
// Start loads sitecustomize.py into the server's Python, which mends two ways
// in which moto 5.2.1's Secrets Manager differs from the real one: a request
// that runs while another creates a secret can fail with HTTP 500 (its
// lookups iterate over the dict of secrets), so the backend's calls are made
// one at a time; and GetSecretValue without a version answers with the
// version that was current before an UpdateSecretVersionStage moved
// AWSCURRENT, so the moved-to version becomes moto's default too. It also
// mends moto's KMS Sign, which hashes a MessageType DIGEST message again and
// salts RSASSA_PSS with the longest salt: a digest is signed as prehashed and
// a PSS salt is as long as the hash, as KMS does; and its Sign and
// GetPublicKey, which use a disabled key as an enabled one, where KMS
// answers DisabledException.
package motoserver

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/tokenrotator/tokenrotator/infra/local/procgroup"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

// Binary is the command Start runs.
const Binary = "moto_server"

// InstallHint tells a developer how to get moto_server.
const InstallHint = "install it with: pip install 'moto[server]'"

// Region is the AWS region the local clients use.
const Region = "us-east-1"

// Server is a running moto_server.
type Server struct {
	// Endpoint is its base URL, http://127.0.0.1:PORT.
	Endpoint string

	cmd    *exec.Cmd
	dir    string // holds sitecustomize.py
	out    *syncbuf.Buffer
	waited chan struct{}
	once   sync.Once
}

// Available reports whether moto_server is on the PATH.
func Available() bool {
	_, err := exec.LookPath(Binary)
	return err == nil
}

// Start launches moto_server on a free loopback port and waits, at most 30
// seconds or until ctx ends, for it to answer. The process is killed when
// Close is called, and by the kernel if this process dies first.
func Start(ctx context.Context) (*Server, error) {
	path, err := exec.LookPath(Binary)
	if err != nil {
		return nil, fmt.Errorf("%s not found on PATH; %s", Binary, InstallHint)
	}
	// Port 0: the server binds a port the kernel picks and prints it, so
	// that two servers started at once can never be handed the same port
	// (choosing a free port first and passing it leaves a window in which
	// another process can take it, and a readiness probe would then be
	// answered by that other server).
	dir, err := os.MkdirTemp("", "motoserver-")
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", Binary, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sitecustomize.py"), sitecustomize, 0o600); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", Binary, err)
	}
	out := &syncbuf.Buffer{}
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", "0")
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pythonPath(dir))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", Binary, err)
	}
	s := &Server{cmd: cmd, dir: dir, out: out, waited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.waited) }()

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := s.waitPort(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.waitReady(ctx, 30*time.Second); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

//go:embed sitecustomize.py
var sitecustomize []byte

// pythonPath puts dir first on the caller's PYTHONPATH.
func pythonPath(dir string) string {
	if p := os.Getenv("PYTHONPATH"); p != "" {
		return dir + string(os.PathListSeparator) + p
	}
	return dir
}

// listening is the line the server prints once it has bound its port.
var listening = regexp.MustCompile(`Running on http://127\.0\.0\.1:([0-9]+)`)

// waitPort reads the bound port from the server's output into Endpoint.
func (s *Server) waitPort(ctx context.Context) error {
	for {
		if m := listening.FindSubmatch(s.out.Bytes()); m != nil {
			s.Endpoint = "http://127.0.0.1:" + string(m[1])
			return nil
		}
		select {
		case <-s.waited:
			return fmt.Errorf("%s exited before it listened: %s", Binary, bytes.TrimSpace(s.out.Bytes()))
		case <-ctx.Done():
			return fmt.Errorf("%s did not say which port it listens on: %w; its output: %s", Binary, ctx.Err(), bytes.TrimSpace(s.out.Bytes()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Endpoint+"/moto-api/", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-s.waited:
			return fmt.Errorf("%s exited before it answered: %s", Binary, bytes.TrimSpace(s.out.Bytes()))
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer on %s: %w; its output: %s", Binary, s.Endpoint, ctx.Err(), bytes.TrimSpace(s.out.Bytes()))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// AWSConfig returns an SDK configuration that talks to this server with
// dummy credentials. It reads nothing from the environment.
func (s *Server) AWSConfig() aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(s.Endpoint),
	}
}

// Env returns the environment variables that point an AWS SDK process at
// this server.
func (s *Server) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=" + s.Endpoint,
		"AWS_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=test",
		"AWS_SECRET_ACCESS_KEY=test",
		"AWS_SESSION_TOKEN=",
	}
}

// Reset drops every resource moto holds, so that tests sharing a server
// start clean.
func (s *Server) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Endpoint+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("resetting moto: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("resetting moto: HTTP %d", resp.StatusCode)
	}
	return nil
}

// Close stops the server and its children. It is safe to call twice.
func (s *Server) Close() error {
	s.once.Do(func() {
		procgroup.Stop(s.cmd.Process.Pid, s.waited, 5*time.Second)
		os.RemoveAll(s.dir)
	})
	return nil
}

// ForTest starts a server for the test and stops it at cleanup. Without
// moto_server on the PATH it skips the test, or fails it under CI=true.
func ForTest(tb testing.TB) *Server {
	tb.Helper()
	if !Available() {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is required under CI=true; %s", Binary, InstallHint)
		}
		tb.Skipf("integration test needs %s; %s", Binary, InstallHint)
	}
	s, err := Start(context.Background())
	if err != nil {
		tb.Fatalf("starting %s: %v", Binary, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
