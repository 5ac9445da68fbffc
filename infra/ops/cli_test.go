package ops_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// emulatorStub serves the Runtime Interface Emulator's invocation path
// with the answers rotated gives, and records the requests.
type emulatorStub struct {
	mu       sync.Mutex
	paths    []string
	payloads []string
}

func (s *emulatorStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.paths = append(s.paths, r.Method+" "+r.URL.Path)
	s.payloads = append(s.payloads, string(body))
	s.mu.Unlock()
	if r.URL.Path != "/2015-03-31/functions/function/invocations" {
		http.NotFound(w, r)
		return
	}
	out, _ := rotated(body)
	w.Header().Set("Content-Type", "application/json")
	w.Write(out.Payload)
}

func TestCLI(t *testing.T) {
	m := motoserver.ForTest(t)
	stub := &emulatorStub{}
	emu := httptest.NewServer(stub)
	defer emu.Close()
	r := newRigWith(m.AWSConfig())
	creds := r.credentials(t, "creds/acme")
	var out, all strings.Builder
	cli := ops.CLI{Out: &out, Err: &out, LoadAWS: func(context.Context) (aws.Config, error) { return m.AWSConfig(), nil }}
	stackFlags := []string{"-stack", testStack, "-function", testFunc, "-prefix", testPrefix, "-alarm-topic", testTopic, "-stack-credentials", testOwnCredentials, "-lambda-endpoint", emu.URL}
	run := func(args ...string) error {
		out.Reset()
		err := cli.Run(context.Background(), append(args[:1:1], append(stackFlags, args[1:]...)...))
		all.WriteString(out.String())
		return err
	}

	if err := run("add", "-name", "acme", "-credentials", creds, "-readers", readerUser+","+readerRole); err != nil {
		t.Fatalf("add: error = %v\n%s", err, out.String())
	}
	if got, _ := r.readers(t, testPrefix+"acme"); !slices.Equal(got, []string{readerRole, readerUser}) {
		t.Errorf("add -readers: readers = %q, want %q", got, []string{readerRole, readerUser})
	}
	if !strings.Contains(out.String(), "acme: rotated: token expires 2026-11-30T05:00:00Z, version v-acme") {
		t.Errorf("add output lacks the outcome:\n%s", out.String())
	}
	checkAlarm(t, r, "acme")
	if err := run("rotate"); err != nil {
		t.Fatalf("rotate: error = %v\n%s", err, out.String())
	}
	if err := run("rotate", "-name", "acme"); err != nil {
		t.Fatalf("rotate -name acme: error = %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "acme         rotated") {
		t.Errorf("rotate output lacks acme's row:\n%s", out.String())
	}
	stub.mu.Lock()
	const path = "POST /2015-03-31/functions/function/invocations"
	wantPaths := []string{path, path, path}
	wantPayloads := []string{`{"force":true,"integration":"acme"}`, `{"force":true}`, `{"force":true,"integration":"acme"}`}
	if !slices.Equal(stub.paths, wantPaths) || !slices.Equal(stub.payloads, wantPayloads) {
		t.Errorf("emulator got %q with %q, want %q with %q", stub.paths, stub.payloads, wantPaths, wantPayloads)
	}
	stub.mu.Unlock()
	if err := run("readers", "-name", "acme", "-readers", readerAccount); err != nil {
		t.Fatalf("readers: error = %v\n%s", err, out.String())
	}
	if got, _ := r.readers(t, testPrefix+"acme"); !slices.Equal(got, []string{readerAccount}) {
		t.Errorf("readers -readers %s: readers = %q", readerAccount, got)
	}
	if err := run("readers", "-name", "acme", "-readers", "none"); err != nil {
		t.Fatalf("readers none: error = %v\n%s", err, out.String())
	}
	if got, ok := r.readers(t, testPrefix+"acme"); ok {
		t.Errorf("readers -readers none: readers = %q, want no resource policy", got)
	}
	if err := run("remove", "-name", "acme"); err != nil {
		t.Fatalf("remove: error = %v\n%s", err, out.String())
	}
	if _, ok := r.describe(t, testPrefix+"acme"); ok {
		t.Errorf("token secret still there after remove")
	}
	checkNoSecrets(t, all.String())
}

// cloudFormationStub answers DescribeStacks (awsQuery, XML) with one
// stack and its outputs, or with CloudFormation's error for a stack that
// does not exist.
func cloudFormationStub(outputs map[string]string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Form.Get("Action") != "DescribeStacks" {
			http.Error(w, "unexpected action "+r.Form.Get("Action"), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/xml")
		name := r.Form.Get("StackName")
		if outputs == nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id %s does not exist</Message></Error><RequestId>r</RequestId></ErrorResponse>`, name)
			return
		}
		var outs strings.Builder
		for k, v := range outputs {
			fmt.Fprintf(&outs, "<member><OutputKey>%s</OutputKey><OutputValue>%s</OutputValue></member>", k, v)
		}
		fmt.Fprintf(w, `<DescribeStacksResponse><DescribeStacksResult><Stacks><member><StackName>%s</StackName><StackStatus>CREATE_COMPLETE</StackStatus>`+
			`<CreationTime>2026-01-01T00:00:00Z</CreationTime><Outputs>%s</Outputs></member></Stacks></DescribeStacksResult></DescribeStacksResponse>`, name, outs.String())
	}
}

// TestCLIStackOutputs runs rotate without -function: the command reads
// the function's name from the stack's outputs, or says to deploy first.
func TestCLIStackOutputs(t *testing.T) {
	stub := &emulatorStub{}
	emu := httptest.NewServer(stub)
	defer emu.Close()
	tests := []struct {
		name    string
		outputs map[string]string
		wantErr string
		wantOut string
	}{
		{name: "deployed", outputs: map[string]string{ops.OutputFunctionName: "tokenrotator-RotatorFunction-Q1", ops.OutputAlarmTopic: testTopic},
			wantOut: `invoking tokenrotator-RotatorFunction-Q1 with {"force": true}`},
		{name: "output missing", outputs: map[string]string{ops.OutputAlarmTopic: testTopic},
			wantErr: "stack mystack has no output RotatorFunctionName: run make deploy first"},
		{name: "never deployed", wantErr: "reading the outputs of stack mystack (run make deploy first, or set STACK_NAME): operation error CloudFormation: DescribeStacks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfn := httptest.NewServer(cloudFormationStub(tt.outputs))
			defer cfn.Close()
			var out strings.Builder
			cli := ops.CLI{Out: &out, Err: &out, LoadAWS: func(context.Context) (aws.Config, error) {
				return aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(cfn.URL),
					Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}, nil
			}}
			err := cli.Run(context.Background(), []string{"rotate", "-stack", "mystack", "-lambda-endpoint", emu.URL})
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("rotate: error = %v\n%s", err, out.String())
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("rotate: error = %v, want one containing %q", err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("rotate output lacks %q:\n%s", tt.wantOut, out.String())
			}
		})
	}
}

func TestCLIUsage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "nothing", args: nil, wantErr: "want a subcommand"},
		{name: "a flag first", args: []string{"-name", "acme"}, wantErr: "want a subcommand"},
		{name: "unknown subcommand", args: []string{"list"}, wantErr: `unknown subcommand "list"`},
		{name: "add without name", args: []string{"add", "-credentials", "arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf"}, wantErr: "-name is required"},
		{name: "add without credentials", args: []string{"add", "-name", "acme"}, wantErr: "-credentials is required"},
		{name: "remove without name", args: []string{"remove"}, wantErr: "-name is required"},
		{name: "readers without name", args: []string{"readers", "-readers", readerRole}, wantErr: "-name is required"},
		{name: "readers without readers", args: []string{"readers", "-name", "acme"}, wantErr: "-readers is required: principal ARNs separated by commas, or none"},
		{name: "readers with a bad one", args: []string{"readers", "-name", "acme", "-readers", readerRole + ",acme-service"}, wantErr: `-readers: reader "acme-service" is not an IAM role, user or account root ARN`},
		{name: "add with a bad reader", args: []string{"add", "-name", "acme", "-credentials", "arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf", "-readers", "*"}, wantErr: `-readers: reader "*" is not`},
		{name: "add with readers none", args: []string{"add", "-name", "acme", "-credentials", "arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf", "-readers", "none"}, wantErr: "-readers none is for integration readers"},
		{name: "stray argument", args: []string{"rotate", "acme"}, wantErr: `unexpected arguments ["acme"]`},
		{name: "empty stack", args: []string{"rotate", "-stack", ""}, wantErr: "-stack is empty"},
		{name: "unknown flag", args: []string{"rotate", "-integration", "acme"}, wantErr: "flag provided but not defined: -integration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loaded := false
			cli := ops.CLI{Out: io.Discard, Err: io.Discard, LoadAWS: func(context.Context) (aws.Config, error) {
				loaded = true
				return aws.Config{}, errors.New("must not be reached")
			}}
			err := cli.Run(context.Background(), tt.args)
			if !errors.Is(err, ops.ErrUsage) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Run(%q) error = %v, want a usage error containing %q", tt.args, err, tt.wantErr)
			}
			if loaded {
				t.Errorf("Run(%q) loaded the AWS configuration, want it to stop at the command line", tt.args)
			}
		})
	}
	if err := (ops.CLI{Out: io.Discard, Err: io.Discard}).Run(context.Background(), []string{"rotate", "-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("Run(rotate -h) error = %v, want flag.ErrHelp", err)
	}
}
