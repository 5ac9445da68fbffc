package rie

import (
	"slices"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

func TestParseFunctionError(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		want   *FunctionError
		status int
	}{
		{name: "handler error", status: 200, body: `{"errorMessage":"reading secret \"x\": not found","errorType":"wrapError"}`,
			want: &FunctionError{Type: "wrapError", Message: `reading secret "x": not found`, Status: 200}},
		{name: "with stack trace", status: 200, body: `{"errorMessage":"boom","errorType":"runtime.Error","stackTrace":[]}`,
			want: &FunctionError{Type: "runtime.Error", Message: "boom", Status: 200}},
		{name: "timeout", status: 200, body: "Task timed out after 60.00 seconds",
			want: &FunctionError{Type: "TimeoutError", Message: "Task timed out after 60.00 seconds", Status: 200}},
		{name: "result", status: 200, body: `{"rotated":true,"expiry":"2026-11-29T16:00:00Z"}`},
		{name: "result with an errorMessage only", status: 200, body: `{"errorMessage":"x"}`},
		{name: "not json", status: 502, body: `bad gateway`},
		{name: "empty", status: 200, body: ``},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseFunctionError(tt.status, []byte(tt.body))
			if (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
				t.Errorf("parseFunctionError(%q) = %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}

func TestFunctionErrorMessage(t *testing.T) {
	fe := &FunctionError{Type: "wrapError", Message: "fetching a token: invalid_client"}
	if got, want := fe.Error(), "function error (wrapError): fetching a token: invalid_client"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestParentOf(t *testing.T) {
	tests := []struct {
		name   string
		stat   string
		want   int
		wantOK bool
	}{
		{name: "plain", stat: "1234 (bootstrap) S 1200 1234 1234 0 -1", want: 1200, wantOK: true},
		{name: "name with spaces and parens", stat: "77 (a (b) c) R 5 77 77 0 -1", want: 5, wantOK: true},
		{name: "truncated", stat: "77 (x) R", wantOK: false},
		{name: "garbage", stat: "nothing here", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parentOf(tt.stat)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("parentOf(%q) = %d, %v, want %d, %v", tt.stat, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestInitDuration(t *testing.T) {
	tests := []struct {
		name   string
		output string
		want   time.Duration
		wantOK bool
	}{
		{name: "init report wins", output: "x [INFO] (rapid) INIT REPORT(durationMs: 14.789000)\nREPORT RequestId: r\tInit Duration: 0.34 ms\t",
			want: 14789 * time.Microsecond, wantOK: true},
		{name: "report line only", output: "REPORT RequestId: r\tInit Duration: 2.50 ms\t", want: 2500 * time.Microsecond, wantOK: true},
		{name: "before the first invocation", output: "exec './bootstrap'", wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Emulator{out: &syncbuf.Buffer{}}
			e.out.Write([]byte(tt.output))
			got, ok := e.InitDuration()
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("InitDuration() = %v, %v, want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestEnvironment(t *testing.T) {
	t.Setenv("PATH", "/usr/bin")
	t.Setenv("TMPDIR", "/tmp/x")
	t.Setenv("AWS_PROFILE", "production") // must not reach the function
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{name: "defaults", cfg: Config{}, want: []string{"AWS_LAMBDA_FUNCTION_NAME=tokenrotator"}},
		{name: "timeout in seconds", cfg: Config{FunctionName: "f", Timeout: 90 * time.Second},
			want: []string{"AWS_LAMBDA_FUNCTION_NAME=f", "AWS_LAMBDA_FUNCTION_TIMEOUT=90"}},
		{name: "sub-second timeout rounds up to 1", cfg: Config{Timeout: time.Millisecond},
			want: []string{"AWS_LAMBDA_FUNCTION_NAME=tokenrotator", "AWS_LAMBDA_FUNCTION_TIMEOUT=1"}},
		{name: "env last", cfg: Config{Env: []string{"TOKEN_URL=http://127.0.0.1:1/ims/token/v3"}},
			want: []string{"AWS_LAMBDA_FUNCTION_NAME=tokenrotator", "TOKEN_URL=http://127.0.0.1:1/ims/token/v3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := environment(tt.cfg)
			want := append([]string{"PATH=/usr/bin", "TMPDIR=/tmp/x"}, tt.want...)
			if !slices.Equal(got, want) {
				t.Errorf("environment() = %q, want %q", got, want)
			}
		})
	}
}
