package ops

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"
)

// fakeConcurrency answers GetAccountSettings with limit and unreserved, and
// GetFunctionConcurrency with reserved for the function named function.
type fakeConcurrency struct {
	limit, unreserved int32
	function          string
	reserved          *int32
	err               error
	asked             []string
}

func (f *fakeConcurrency) GetAccountSettings(context.Context, *lambda.GetAccountSettingsInput, ...func(*lambda.Options)) (*lambda.GetAccountSettingsOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &lambda.GetAccountSettingsOutput{AccountLimit: &lambdatypes.AccountLimit{
		ConcurrentExecutions: f.limit, UnreservedConcurrentExecutions: aws.Int32(f.unreserved)}}, nil
}

func (f *fakeConcurrency) GetFunctionConcurrency(_ context.Context, in *lambda.GetFunctionConcurrencyInput, _ ...func(*lambda.Options)) (*lambda.GetFunctionConcurrencyOutput, error) {
	f.asked = append(f.asked, aws.ToString(in.FunctionName))
	if aws.ToString(in.FunctionName) != f.function {
		return nil, &lambdatypes.ResourceNotFoundException{Message: aws.String("Function not found")}
	}
	return &lambda.GetFunctionConcurrencyOutput{ReservedConcurrentExecutions: f.reserved}, nil
}

// fakeStacks answers DescribeStacks with one stack whose function is
// function, or with the error a missing stack gets when function is "".
type fakeStacks struct{ function string }

func (f fakeStacks) DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	if f.function == "" {
		return nil, errors.New("ValidationError: Stack with id tokenrotator does not exist")
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cfntypes.Stack{{Outputs: []cfntypes.Output{
		{OutputKey: aws.String(OutputFunctionName), OutputValue: aws.String(f.function)}}}}}, nil
}

func TestPlanReservation(t *testing.T) {
	tests := []struct {
		name                    string
		limit, unreserved, curr int
		engine                  string
		want                    bool
		why                     string
	}{
		{"a new account of 10", 10, 10, 0, EngineScheduler, false, "limit is 10, 10 of it unreserved: reserving 1 would leave less than the 100"},
		{"a new account of 50, native", 50, 50, 0, EngineSecretsManager, false, "reserving 10 would leave less"},
		{"the default 1,000", 1000, 1000, 0, EngineScheduler, true, "reserving 1 leaves the 100"},
		{"exactly enough for the scheduler", 101, 101, 0, EngineScheduler, true, ""},
		{"one short for native", 109, 109, 0, EngineSecretsManager, false, ""},
		{"an update gives its own reservation back", 110, 100, 10, EngineSecretsManager, true, "110 of it unreserved"},
		{"engine unknown (guided): both must fit", 105, 105, 0, "", false, "reserving 10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanReservation(tt.limit, tt.unreserved, tt.curr, tt.engine)
			if got.Reserve != tt.want || !strings.Contains(got.Why, tt.why) {
				t.Errorf("PlanReservation(%d, %d, %d, %q) = %+v, want Reserve %v and a reason with %q", tt.limit, tt.unreserved, tt.curr, tt.engine, got, tt.want, tt.why)
			}
		})
	}
}

func TestParameterOverrides(t *testing.T) {
	tests := []struct {
		name, file, want string
		wantErr          bool
	}{
		{"none: a first deploy", "version = 0.1\n[default.deploy.parameters]\nstack_name = \"x\"\n", "", false},
		{"as sam writes them", "[default.deploy.parameters]\nparameter_overrides = \"CredentialsSecretArn=\\\"arn:aws:secretsmanager:eu-west-1:123456789012:secret:c-AbCdEf\\\" RotationEngine=\\\"secretsmanager\\\"\"\n",
			`CredentialsSecretArn="arn:aws:secretsmanager:eu-west-1:123456789012:secret:c-AbCdEf" RotationEngine="secretsmanager"`, false},
		{"an array over lines", "parameter_overrides = [\n  \"A=1\",\n  'B=x]y',\n]\nregion = \"eu-west-1\"\n", "A=1 B=x]y", false},
		{"an unterminated string", "parameter_overrides = \"A=1\n", "", true},
		{"not a string", "parameter_overrides = 3\n", "", true},
		{"an array left open", "parameter_overrides = [\"A=1\",\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParameterOverrides(tt.file)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ParameterOverrides() = %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestDeploy(t *testing.T) {
	const stored = `CredentialsSecretArn="arn:aws:secretsmanager:eu-west-1:123456789012:secret:c-AbCdEf"`
	tests := []struct {
		name     string
		file     string
		guided   bool
		acct     *fakeConcurrency
		stack    string
		wantArgs []string
		wantOut  string
		wantErr  string
	}{
		{
			name: "first deploy in a new account: guided, unreserved",
			file: "version = 0.1\n", acct: &fakeConcurrency{limit: 10, unreserved: 10},
			wantArgs: []string{"deploy", "--config-file", "F", "--stack-name", "tokenrotator", "--guided", "--parameter-overrides", "ReserveConcurrency=false"},
			wantOut:  "ReserveConcurrency=false: the account's concurrency limit is 10",
		},
		{
			name: "later deploy in a big account: the file's overrides, nothing added",
			file: "parameter_overrides = \"" + strings.ReplaceAll(stored, `"`, `\"`) + "\"\n", acct: &fakeConcurrency{limit: 1000, unreserved: 999, function: "fn", reserved: aws.Int32(1)}, stack: "fn",
			wantArgs: []string{"deploy", "--config-file", "F", "--stack-name", "tokenrotator", "--parameter-overrides", stored},
			wantOut:  "ReserveConcurrency=true: the account's concurrency limit is 1000, 1000 of it unreserved",
		},
		{
			name: "later deploy in a small account: false added to the file's overrides",
			file: "parameter_overrides = \"" + strings.ReplaceAll(stored, `"`, `\"`) + "\"\n", acct: &fakeConcurrency{limit: 50, unreserved: 50},
			wantArgs: []string{"deploy", "--config-file", "F", "--stack-name", "tokenrotator", "--parameter-overrides", stored + " ReserveConcurrency=false"},
		},
		{
			name: "the file decides",
			file: "parameter_overrides = \"ReserveConcurrency=\\\"true\\\"\"\n", acct: &fakeConcurrency{err: errors.New("must not be asked")},
			wantArgs: []string{"deploy", "--config-file", "F", "--stack-name", "tokenrotator", "--parameter-overrides", `ReserveConcurrency="true"`},
			wantOut:  "ReserveConcurrency=true, as F sets it",
		},
		{
			name: "the account cannot be read: no deploy, and the way around",
			file: "version = 0.1\n", acct: &fakeConcurrency{err: errors.New("AccessDeniedException")},
			wantErr: "lambda:GetAccountSettings): AccessDeniedException; set ReserveConcurrency=true or false",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "samconfig.toml")
			if err := os.WriteFile(file, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			var ran []string
			err := Deploy{
				Stack: "tokenrotator", ConfigFile: file, Guided: tt.guided, Lambda: tt.acct, Stacks: fakeStacks{function: tt.stack}, Out: &out,
				Exec: func(_ context.Context, name string, args ...string) error {
					ran = append([]string{name}, args...)
					return nil
				},
			}.Run(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || ran != nil {
					t.Fatalf("Run() = %v, ran %q; want an error with %q and no sam", err, ran, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run() = %v", err)
			}
			for i, a := range tt.wantArgs {
				if a == "F" {
					tt.wantArgs[i] = file
				}
			}
			if want := append([]string{"sam"}, tt.wantArgs...); !slices.Equal(ran, want) {
				t.Errorf("ran %q,\nwant %q", ran, want)
			}
			if got := strings.ReplaceAll(out.String(), file, "F"); !strings.Contains(got, tt.wantOut) {
				t.Errorf("printed %q, want %q", got, tt.wantOut)
			}
		})
	}
}
