package oauthmock

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/procgroup"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

// Paths the server serves, relative to Server.URL.
const (
	TokenPath = "/token"
	JWKSPath  = "/jwks"
)

// DefaultLifetime is the server's own token lifetime.
const DefaultLifetime = time.Hour

// Config tunes Start. Its zero value installs into the user cache
// directory and issues tokens for DefaultLifetime, without progress lines.
type Config struct {
	// Lifetime is every token's expires_in and exp - iat, rounded down to
	// whole seconds; zero means DefaultLifetime.
	Lifetime time.Duration
	// CacheDir holds the npm installation, in a folder named
	// Package@Version; empty means os.UserCacheDir()/tokenrotator/npm.
	CacheDir string
	// Progress, if not nil, receives a line before npm installs and one
	// when the server answers.
	Progress io.Writer
	// Output, if not nil, also receives the server's output as it comes
	// (Server.Output has it all anyway).
	Output io.Writer
}

// Server is a running oauth2-mock-server.
type Server struct {
	// URL is its base URL and the tokens' issuer (iss),
	// http://127.0.0.1:PORT.
	URL string

	cmd    *exec.Cmd
	out    *syncbuf.Buffer
	waited chan struct{}
	once   sync.Once
}

// TokenRequest is one request the server answered at its token endpoint,
// as the launcher logs it. It never holds the client secret or the token.
type TokenRequest struct {
	// GrantType is the grant_type form field.
	GrantType string `json:"grant_type"`
	// Auth says how the client sent its credentials: "basic" (an HTTP
	// Basic header), "body" (client_secret as a form field) or "none".
	Auth string `json:"auth"`
	// ClientID is the client id from the Basic header or the form.
	ClientID string `json:"client_id"`
	// Scope is the scope form field, empty when there was none.
	Scope string `json:"scope"`
	// Status is the HTTP status of the answer.
	Status int `json:"status"`
}

var readyRE = regexp.MustCompile(`(?m)^oauthmock listening on (http://127\.0\.0\.1:[0-9]+)$`)

// requestPrefix starts the launcher's line for each token request.
const requestPrefix = "oauthmock token request "

// Start installs oauth2-mock-server when it is not installed yet, runs it
// with node on a free loopback port and waits, at most 30 seconds after
// the install or until ctx ends, until it answers. The process is killed
// when Close is called, and by the kernel if this process dies first.
// Errors about missing or old tools wrap ErrUnavailable.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	node, npm, err := checkTools(ctx)
	if err != nil {
		return nil, err
	}
	lifetime := cfg.Lifetime
	if lifetime == 0 {
		lifetime = DefaultLifetime
	}
	secs := int64(lifetime / time.Second)
	if secs <= 0 {
		return nil, fmt.Errorf("starting %s: Config.Lifetime %v is under a second", Package, cfg.Lifetime)
	}
	cacheDir := cfg.CacheDir
	if cacheDir == "" {
		cacheDir = defaultCacheDir()
	}
	script, err := install(ctx, npm, cacheDir, cfg.Progress)
	if err != nil {
		return nil, err
	}

	out := &syncbuf.Buffer{Tee: cfg.Output}
	cmd := exec.Command(node, script)
	cmd.Env = append(os.Environ(), "OAUTHMOCK_LIFETIME="+strconv.FormatInt(secs, 10))
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s with node: %w", Package, err)
	}
	s := &Server{cmd: cmd, out: out, waited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.waited) }()
	if err := s.waitReady(ctx, 30*time.Second); err != nil {
		s.Close()
		return nil, err
	}
	say(cfg.Progress, fmt.Sprintf("%s@%s on %s", Package, Version, s.URL))
	return s, nil
}

// waitReady waits for the launcher's ready line, then for the discovery
// document to name TokenURL as the token endpoint.
func (s *Server) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		if s.URL == "" {
			if m := readyRE.FindSubmatch(s.out.Bytes()); m != nil {
				s.URL = string(m[1])
			}
		}
		if s.URL != "" && s.answers(ctx, client) {
			return nil
		}
		select {
		case <-s.waited:
			return fmt.Errorf("%s exited before it answered: %s", Package, tail(s.out.Bytes(), 2000))
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer: %w; its output: %s", Package, ctx.Err(), tail(s.out.Bytes(), 2000))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// answers reports whether the discovery document names TokenURL.
func (s *Server) answers(ctx context.Context, client *http.Client) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/.well-known/openid-configuration", nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var doc struct {
		TokenEndpoint string `json:"token_endpoint"`
	}
	return resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&doc) == nil && doc.TokenEndpoint == s.TokenURL()
}

// TokenURL returns the token endpoint, http://127.0.0.1:PORT/token.
func (s *Server) TokenURL() string {
	return s.URL + TokenPath
}

// TokenRequests returns the token requests the server answered so far,
// oldest first. Requests it refused before answering (no grant_type, an
// unknown one) are not among them.
func (s *Server) TokenRequests() []TokenRequest {
	var reqs []TokenRequest
	sc := bufio.NewScanner(bytes.NewReader(s.out.Bytes()))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), requestPrefix)
		if !ok {
			continue
		}
		var r TokenRequest
		if json.Unmarshal([]byte(line), &r) == nil {
			reqs = append(reqs, r)
		}
	}
	return reqs
}

// Output returns everything the server wrote so far.
func (s *Server) Output() string {
	return s.out.String()
}

// Close stops the server and any child it started (its whole process
// group), and waits until it is gone. It is safe to call twice.
func (s *Server) Close() error {
	s.once.Do(func() {
		procgroup.Stop(s.cmd.Process.Pid, s.waited, 5*time.Second)
	})
	return nil
}

// ForTest starts a server for the test with cfg and stops it at cleanup;
// a nil cfg.Progress means os.Stderr, as installing takes a while. Without
// node or npm, or with a node older than MinNodeVersion, it skips the test,
// or fails it under CI=true.
func ForTest(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	if cfg.Progress == nil {
		cfg.Progress = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), installTimeout+time.Minute)
	defer cancel()
	s, err := Start(ctx, cfg)
	switch {
	case errors.Is(err, ErrUnavailable) && os.Getenv("CI") == "true":
		tb.Fatalf("%v (required under CI=true)", err)
	case errors.Is(err, ErrUnavailable):
		tb.Skipf("integration test needs %s: %v", Package, err)
	case err != nil:
		tb.Fatalf("starting %s: %v", Package, err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
