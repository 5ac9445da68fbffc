package rie

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/procgroup"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

// InvokePath is the emulator's invocation endpoint.
const InvokePath = "/2015-03-31/functions/function/invocations"

// Config says what to run.
type Config struct {
	// RIE is the emulator binary, as Build returns it. Required.
	RIE string
	// Bootstrap is the function's executable. Required.
	Bootstrap string
	// Env is the function's environment, added to a minimal base (PATH,
	// TMPDIR) and to the settings below; later entries win. The emulator
	// passes all of it to the bootstrap.
	Env []string
	// FunctionName becomes AWS_LAMBDA_FUNCTION_NAME; empty means
	// "tokenrotator".
	FunctionName string
	// Timeout becomes AWS_LAMBDA_FUNCTION_TIMEOUT, in whole seconds; zero
	// means the emulator's default, 300 s.
	Timeout time.Duration
	// Output, if not nil, also receives the emulator's and bootstrap's
	// output as it comes.
	Output io.Writer
	// HTTPClient makes the invocations; nil means a client without a
	// timeout (Invoke's context bounds each call).
	HTTPClient *http.Client
}

// Emulator is a running aws-lambda-rie with its bootstrap.
type Emulator struct {
	// URL is the emulator's base URL, http://127.0.0.1:PORT.
	URL string
	// RuntimeAPI is the Runtime API address the bootstrap talks to.
	RuntimeAPI string

	client *http.Client
	cmd    *exec.Cmd
	out    *syncbuf.Buffer
	waited chan struct{}
	once   sync.Once
}

// Start runs the emulator on two free loopback ports and waits, at most 10
// seconds or until ctx ends, until it accepts connections. The bootstrap
// starts on the first Invoke.
func Start(ctx context.Context, cfg Config) (*Emulator, error) {
	if cfg.RIE == "" || cfg.Bootstrap == "" {
		return nil, fmt.Errorf("starting the emulator: Config.RIE and Config.Bootstrap are required")
	}
	bootstrap, err := filepath.Abs(cfg.Bootstrap)
	if err != nil {
		return nil, fmt.Errorf("starting the emulator: %w", err)
	}
	ports, err := freePorts(2)
	if err != nil {
		return nil, fmt.Errorf("starting the emulator: %w", err)
	}
	addr, api := "127.0.0.1:"+strconv.Itoa(ports[0]), "127.0.0.1:"+strconv.Itoa(ports[1])
	out := &syncbuf.Buffer{Tee: cfg.Output}
	cmd := exec.Command(cfg.RIE, "--runtime-interface-emulator-address", addr, "--runtime-api-address", api, bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = environment(cfg)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", cfg.RIE, err)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{}
	}
	e := &Emulator{URL: "http://" + addr, RuntimeAPI: api, client: client, cmd: cmd, out: out, waited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(e.waited) }()
	if err := e.waitReady(ctx, addr, 10*time.Second); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// environment builds the emulator's environment: a minimal base, the
// Lambda settings, then cfg.Env.
func environment(cfg Config) []string {
	var env []string
	for _, k := range []string{"PATH", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	name := cfg.FunctionName
	if name == "" {
		name = "tokenrotator"
	}
	env = append(env, "AWS_LAMBDA_FUNCTION_NAME="+name)
	if cfg.Timeout > 0 {
		env = append(env, "AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(int(max(cfg.Timeout.Round(time.Second), time.Second)/time.Second)))
	}
	return append(env, cfg.Env...)
}

func (e *Emulator) waitReady(ctx context.Context, addr string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var d net.Dialer
	for {
		if c, err := d.DialContext(ctx, "tcp", addr); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-e.waited:
			return fmt.Errorf("the emulator exited before it listened: %s", bytes.TrimSpace(e.out.Bytes()))
		case <-ctx.Done():
			return fmt.Errorf("the emulator did not listen on %s: %w; its output: %s", addr, ctx.Err(), bytes.TrimSpace(e.out.Bytes()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Invoke sends payload to the function and returns its response body. When
// the handler returned an error, or the invocation timed out, the error is a
// *FunctionError; other errors concern the emulator itself.
func (e *Emulator) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+InvokePath, bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("invoking the function: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoking the function: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the function's response: %w", err)
	}
	if fe := parseFunctionError(resp.StatusCode, body); fe != nil {
		return nil, fe
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("invoking the function: the emulator answered HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	return body, nil
}

// Output returns everything the emulator and the bootstrap wrote so far.
func (e *Emulator) Output() string {
	return string(e.out.Bytes())
}

var initDurationRE = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)|Init Duration: ([0-9.]+) ms`)

// InitDuration returns the bootstrap's init duration as the emulator
// reported it (INIT REPORT, or Init Duration in the first REPORT line);
// false before the first invocation.
func (e *Emulator) InitDuration() (time.Duration, bool) {
	m := initDurationRE.FindStringSubmatch(e.Output())
	if m == nil {
		return 0, false
	}
	v := m[1]
	if v == "" {
		v = m[2]
	}
	ms, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(ms * float64(time.Millisecond)), true
}

// Close stops the emulator and the bootstrap it started. It is safe to call
// twice.
func (e *Emulator) Close() error {
	e.once.Do(func() {
		// The emulator runs the bootstrap in a process group of its own:
		// find it before the emulator goes.
		kids := childPIDs(e.cmd.Process.Pid)
		procgroup.Stop(e.cmd.Process.Pid, e.waited, 3*time.Second)
		for _, pid := range kids {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	return nil
}

// freePorts asks the kernel for n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
