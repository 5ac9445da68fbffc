package ops_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// rotateRig is an Operator with only a fake Lambda: Rotate calls nothing else.
func rotateRig(answer string, functionError bool) (*ops.Operator, *fakeLambda, *strings.Builder) {
	fl := &fakeLambda{answer: func([]byte) (*lambda.InvokeOutput, error) {
		out := &lambda.InvokeOutput{StatusCode: 200, Payload: []byte(answer)}
		if functionError {
			out.FunctionError = aws.String("Unhandled")
		}
		return out, nil
	}}
	var out strings.Builder
	op := ops.New(ops.Config{Stack: ops.Stack{Name: testStack, FunctionName: testFunc}, Lambda: fl, Out: &out})
	return op, fl, &out
}

func TestRotate(t *testing.T) {
	cause := `fetching a token from https://ims.example/ims/token/v3 for client "c-bad": invalid_client: invalid client_secret parameter`
	tests := []struct {
		name          string
		integration   string
		answer        string
		functionError bool
		wantPayload   string
		wantLines     []string
		wantErr       string
	}{
		{name: "every integration", wantPayload: `{"force":true}`,
			answer: `{"rotated":true,"reason":"3 integrations","counts":{"rotated":2,"fresh":1,"failed":0},"integrations":[
				{"integration":"acme","rotated":true,"reason":"forced","expiry":"2026-11-30T05:00:00Z","version_id":"v1","access_token":"` + accessTokenSentinel + `"},
				{"integration":"beta","rotated":true,"reason":"forced","expiry":"2026-11-30T06:00:00Z","version_id":"v2"},
				{"integration":"default","rotated":false,"reason":"the token is 10m old","expiry":"2026-11-30T07:00:00Z","version_id":"v3"}]}`,
			wantLines: []string{
				`invoking teststack-RotatorFunction-x1 with {"force": true}: every integration`,
				"INTEGRATION  OUTCOME  EXPIRY                REASON OR ERROR",
				"acme         rotated  2026-11-30T05:00:00Z  forced",
				"beta         rotated  2026-11-30T06:00:00Z  forced",
				"default      fresh    2026-11-30T07:00:00Z  the token is 10m old",
				"2 rotated, 1 fresh, 0 failed",
			}},
		{name: "one integration", integration: "acme", wantPayload: `{"force":true,"integration":"acme"}`,
			answer: `{"integration":"acme","rotated":true,"reason":"forced","expiry":"2026-11-30T05:00:00Z","version_id":"v1",
				"counts":{"rotated":1,"fresh":0,"failed":0},"integrations":[{"integration":"acme","rotated":true,"reason":"forced","expiry":"2026-11-30T05:00:00Z","version_id":"v1"}]}`,
			wantLines: []string{
				`invoking teststack-RotatorFunction-x1 with {"force": true, "integration": "acme"}`,
				"acme         rotated  2026-11-30T05:00:00Z  forced",
				"1 rotated, 0 fresh, 0 failed",
			}},
		{name: "some failed", functionError: true, wantPayload: `{"force":true}`,
			answer: `{"errorType":"errorString","errorMessage":` + quote("1 of 3 integrations failed (2 rotated, 0 fresh; nothing was written for the failed ones); bad-creds: "+cause) + `}`,
			wantLines: []string{
				"bad-creds    failed   -       " + cause,
				"1 failed; the other 2 succeeded (2 rotated, 0 fresh), their details are in the function's log",
			},
			wantErr: "the function reported an error: 1 of 3 integrations failed (2 rotated, 0 fresh; nothing was written for the failed ones); bad-creds: " + cause},
		{name: "the one failed", integration: "bad-creds", functionError: true, wantPayload: `{"force":true,"integration":"bad-creds"}`,
			answer:    `{"errorType":"errorString","errorMessage":` + quote(cause) + `}`,
			wantLines: []string{"bad-creds    failed   -       " + cause, "1 failed"},
			wantErr:   "the function reported an error: " + cause},
		{name: "unknown integration", integration: "nope", functionError: true, wantPayload: `{"force":true,"integration":"nope"}`,
			answer:    `{"errorType":"errorString","errorMessage":"integration \"nope\": there is no token secret \"teststack/integrations/nope\" (make integration-add creates it)"}`,
			wantLines: []string{`nope         failed   -       integration "nope": there is no token secret`},
			wantErr:   `there is no token secret "teststack/integrations/nope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, fl, out := rotateRig(tt.answer, tt.functionError)
			_, err := op.Rotate(context.Background(), tt.integration)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Rotate() error = %v", err)
			case tt.wantErr != "":
				var fe *ops.FunctionError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Rotate() error = %v, want a *ops.FunctionError containing %q", err, tt.wantErr)
				}
			}
			if got := fl.payloads(); len(got) != 1 || got[0] != tt.wantPayload {
				t.Errorf("Invoke payloads = %q, want [%q]", got, tt.wantPayload)
			}
			for _, want := range tt.wantLines {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			checkNoSecrets(t, out.String())
		})
	}
}

func TestRotateRefuses(t *testing.T) {
	tests := []struct {
		name    string
		stack   ops.Stack
		invoke  error
		arg     string
		wantErr string
	}{
		{name: "bad name", stack: ops.Stack{Name: testStack, FunctionName: testFunc}, arg: "ACME", wantErr: `integration name "ACME" is not valid`},
		{name: "no function", stack: ops.Stack{Name: testStack}, wantErr: "the operator was not told RotatorFunctionName"},
		{name: "invoke fails", stack: ops.Stack{Name: testStack, FunctionName: testFunc}, invoke: errors.New("AccessDeniedException: not allowed"),
			wantErr: "invoking function teststack-RotatorFunction-x1: AccessDeniedException: not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fl := &fakeLambda{answer: func([]byte) (*lambda.InvokeOutput, error) { return nil, tt.invoke }}
			_, err := ops.New(ops.Config{Stack: tt.stack, Lambda: fl}).Rotate(context.Background(), tt.arg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Rotate(%q) error = %v, want one containing %q", tt.arg, err, tt.wantErr)
			}
		})
	}
}
