package readmecode

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/procgroup"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

// ErrUnavailable is wrapped by the errors of CheckPython and CheckNode
// when a runtime is missing: the cases in which the tests skip, except
// under CI=true.
var ErrUnavailable = errors.New("runtime unavailable")

// replyPrefix starts every line a driver writes for the harness; the
// block's own output is kept for diagnosis and otherwise ignored.
const replyPrefix = "readmecode: "

// Fingerprint is what a driver prints in place of a secret value: the
// first 16 hex digits of its SHA-256. The harness compares fingerprints,
// so that no token reaches a log.
func Fingerprint(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// Prepared is a block made ready to run: its files written, its packages
// installed or its program built.
type Prepared struct {
	Lang  Lang
	Block Block
	dir   string
	argv  []string
}

// Start runs the block's driver, with awsEnv (the variables that point an
// SDK at moto_server, such as motoserver.Server.Env) added to a clean
// environment: the parent's, less every AWS_ variable. It waits, at most
// until ctx ends, for the driver to say it is ready; the block itself runs
// on Load.
func (p *Prepared) Start(ctx context.Context, awsEnv []string) (*Program, error) {
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Dir = p.dir
	cmd.Env = append(append(withoutAWS(os.Environ()), awsEnv...),
		"AWS_DEFAULT_REGION="+lookup(awsEnv, "AWS_REGION"), // boto3 reads this one, not AWS_REGION
		"AWS_EC2_METADATA_DISABLED=true",
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
		"PYTHONDONTWRITEBYTECODE=1",
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	pr := &Program{lang: p.Lang, stdin: stdin, replies: make(chan string, 16), waited: make(chan struct{})}
	cmd.Stderr = &pr.out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting the %s driver: %w", p.Lang, err)
	}
	pr.cmd = cmd
	read := make(chan struct{})
	go func() {
		defer close(read)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(&pr.out, line)
			if r, ok := strings.CutPrefix(line, replyPrefix); ok {
				pr.replies <- r
			}
		}
	}()
	go func() { <-read; _ = cmd.Wait(); close(pr.waited) }()
	r, err := pr.await(ctx)
	if err != nil {
		pr.Close()
		return nil, fmt.Errorf("%w; its output:\n%s", err, tail(pr.out.Bytes(), 3000))
	}
	if r != "ready" {
		pr.Close()
		return nil, fmt.Errorf("the %s driver said %q, want ready", p.Lang, r)
	}
	return pr, nil
}

// withoutAWS drops every AWS_ variable from env, so that a developer's
// profile or region cannot point a block elsewhere than moto_server.
func withoutAWS(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AWS_") {
			out = append(out, kv)
		}
	}
	return out
}

// lookup returns the value of key in env.
func lookup(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// Program is a running driver. Load runs a fresh instance of the block
// (a new module, or a new call of the Go block's function), so that each
// case starts with an empty cache; Get calls its token function again.
type Program struct {
	lang    Lang
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	replies chan string
	out     syncbuf.Buffer // stdout and stderr, interleaved
	waited  chan struct{}
	once    sync.Once
}

// Reply is a driver's answer: OK with two fields, or an error message.
type Reply struct {
	OK bool
	// A and B are the two fields of an ok reply: for load, the
	// fingerprint of the Authorization header the block's own usage code
	// built and the x-api-key it sent ("-" for each when the driver cannot
	// see them); for get, the fingerprint of the access token and the
	// client id.
	A, B string
	// Err is the error message of a reply that is not OK.
	Err string
}

func (r Reply) String() string {
	if r.OK {
		return fmt.Sprintf("ok %s %s", r.A, r.B)
	}
	return "error " + r.Err
}

// Load runs a fresh instance of the block, definitions and usage lines
// (which read the secret a first time), with TOKEN_SECRET_ID set to
// secretID and the API its usage lines call at apiURL.
func (pr *Program) Load(ctx context.Context, secretID, apiURL string) (Reply, error) {
	return pr.request(ctx, "load "+secretID+" "+apiURL)
}

// Get calls the block's token function once more.
func (pr *Program) Get(ctx context.Context) (Reply, error) { return pr.request(ctx, "get") }

func (pr *Program) request(ctx context.Context, req string) (Reply, error) {
	cmd, _, _ := strings.Cut(req, " ")
	if _, err := io.WriteString(pr.stdin, req+"\n"); err != nil {
		return Reply{}, fmt.Errorf("sending %s to the %s driver: %w", cmd, pr.lang, err)
	}
	r, err := pr.await(ctx)
	if err != nil {
		return Reply{}, fmt.Errorf("%s: %w", cmd, err)
	}
	switch status, rest, _ := strings.Cut(r, " "); status {
	case "ok":
		a, b, _ := strings.Cut(rest, " ")
		return Reply{OK: true, A: a, B: b}, nil
	case "error":
		return Reply{Err: rest}, nil
	default:
		return Reply{}, fmt.Errorf("%s: the %s driver replied %q", cmd, pr.lang, r)
	}
}

// await returns the driver's next reply.
func (pr *Program) await(ctx context.Context) (string, error) {
	select {
	case r := <-pr.replies:
		return r, nil
	case <-pr.waited:
		select {
		case r := <-pr.replies:
			return r, nil
		default:
		}
		return "", fmt.Errorf("the %s driver exited (%v) without replying", pr.lang, pr.cmd.ProcessState)
	case <-ctx.Done():
		return "", fmt.Errorf("no reply from the %s driver: %w", pr.lang, context.Cause(ctx))
	}
}

// Output is everything the driver and the block printed so far.
func (pr *Program) Output() string { return pr.out.String() }

// Close stops the driver and its children. It is safe to call twice.
func (pr *Program) Close() {
	pr.once.Do(func() {
		pr.stdin.Close()
		procgroup.Stop(pr.cmd.Process.Pid, pr.waited, 2*time.Second)
	})
}
