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
// GetFunctionConcurrency with reserved for the function named function and
// csReserved for the one named csFunction.
type fakeConcurrency struct {
	limit, unreserved    int32
	function, csFunction string
	reserved, csReserved *int32
	err                  error
	asked                []string
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
	switch aws.ToString(in.FunctionName) {
	case f.function:
		return &lambda.GetFunctionConcurrencyOutput{ReservedConcurrentExecutions: f.reserved}, nil
	case f.csFunction:
		return &lambda.GetFunctionConcurrencyOutput{ReservedConcurrentExecutions: f.csReserved}, nil
	}
	return nil, &lambdatypes.ResourceNotFoundException{Message: aws.String("Function not found")}
}

// fakeStacks answers DescribeStacks with one stack whose function is
// function (and whose client-secret rotator is csFunction, when set), or
// with the error a missing stack gets when function is "".
type fakeStacks struct{ function, csFunction string }

func (f fakeStacks) DescribeStacks(context.Context, *cloudformation.DescribeStacksInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	if f.function == "" {
		return nil, errors.New("ValidationError: Stack with id tokenrotator does not exist")
	}
	outputs := []cfntypes.Output{{OutputKey: aws.String(OutputFunctionName), OutputValue: aws.String(f.function)}}
	if f.csFunction != "" {
		outputs = append(outputs, cfntypes.Output{OutputKey: aws.String(OutputClientSecretFunctionARN), OutputValue: aws.String(f.csFunction)})
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cfntypes.Stack{{Outputs: outputs}}}, nil
}

func TestPlanReservation(t *testing.T) {
	tests := []struct {
		name                    string
		limit, unreserved, curr int
		engine, clientSecret    string
		want                    bool
		why                     string
	}{
		{"a new account of 10", 10, 10, 0, EngineScheduler, "none", false, "limit is 10, 10 of it unreserved: reserving 1 would leave less than the 100"},
		{"a new account of 50, native", 50, 50, 0, EngineSecretsManager, "none", false, "reserving 10 would leave less"},
		{"the default 1,000", 1000, 1000, 0, EngineScheduler, "none", true, "reserving 1 leaves the 100"},
		{"exactly enough for the scheduler", 101, 101, 0, EngineScheduler, "none", true, ""},
		{"one short for native", 109, 109, 0, EngineSecretsManager, "none", false, ""},
		{"an update gives its own reservation back", 110, 100, 10, EngineSecretsManager, "none", true, "110 of it unreserved"},
		{"engine unknown (guided): both must fit", 105, 105, 0, "", "none", false, "reserving 10"},
		{"the client-secret rotator reserves 2 more", 102, 102, 0, EngineScheduler, "adobe", false, "reserving 3 would leave less"},
		{"exactly enough for both rotators", 103, 103, 0, EngineScheduler, "adobe", true, "reserving 3 leaves the 100"},
		{"client-secret rotation unknown (guided): it must fit", 111, 111, 0, EngineSecretsManager, "", false, "reserving 12"},
		{"an update gives both reservations back", 112, 100, 12, EngineSecretsManager, "adobe", true, "112 of it unreserved: reserving 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PlanReservation(tt.limit, tt.unreserved, tt.curr, tt.engine, tt.clientSecret)
			if got.Reserve != tt.want || !strings.Contains(got.Why, tt.why) {
				t.Errorf("PlanReservation(%d, %d, %d, %q, %q) = %+v, want Reserve %v and a reason with %q",
					tt.limit, tt.unreserved, tt.curr, tt.engine, tt.clientSecret, got, tt.want, tt.why)
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
	const (
		arn     = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:c-AbCdEf"
		tracked = "version = 0.1\n[default.deploy.parameters]\nstack_name = \"tokenrotator\"\ncapabilities = \"CAPABILITY_IAM\"\n"
		saved   = `CredentialsSecretArn="` + arn + `" AlarmEmail="ops@example.com"`
	)
	savedLocal := strings.Replace(tracked, "[default.deploy.parameters]", "[default.deploy.parameters]\nparameter_overrides = \""+strings.ReplaceAll(saved, `"`, `\"`)+"\"", 1)
	build := []string{"sam", "build", "--config-file", "L"}
	deploy := []string{"sam", "deploy", "--config-file", "L", "--stack-name", "tokenrotator"}
	tests := []struct {
		name           string
		tracked, local string // local "" : no local file yet
		set            map[string]string
		guided         bool
		acct           *fakeConcurrency
		stack, csStack string
		wantRuns       [][]string
		wantLocal      string // "" : not checked
		wantOut        string
		wantErr        string
	}{
		{
			name: "first deploy in a new account, non-interactive", tracked: tracked,
			set:       map[string]string{"CredentialsSecretArn": arn, "AlarmEmail": "ops@example.com"},
			acct:      &fakeConcurrency{limit: 10, unreserved: 10},
			wantRuns:  [][]string{build, append(slices.Clone(deploy), "--no-confirm-changeset", "--parameter-overrides", saved+" ReserveConcurrency=false")},
			wantLocal: savedLocal,
			wantOut:   "ReserveConcurrency=false: the account's concurrency limit is 10",
		},
		{
			name: "later deploy in a big account: the saved parameters, nothing added", tracked: tracked, local: savedLocal,
			acct: &fakeConcurrency{limit: 1000, unreserved: 999, function: "fn", reserved: aws.Int32(1)}, stack: "fn",
			wantRuns:  [][]string{build, append(slices.Clone(deploy), "--no-confirm-changeset", "--parameter-overrides", saved)},
			wantLocal: savedLocal,
			wantOut:   "ReserveConcurrency=true: the account's concurrency limit is 1000, 1000 of it unreserved",
		},
		{
			name: "an update with client-secret rotation gives both functions' reservations back", tracked: tracked,
			local: strings.Replace(savedLocal, `ops@example.com\"`, `ops@example.com\" ClientSecretRotation=adobe`, 1),
			acct:  &fakeConcurrency{limit: 103, unreserved: 100, function: "fn", reserved: aws.Int32(1), csFunction: "arn:cs", csReserved: aws.Int32(2)},
			stack: "fn", csStack: "arn:cs",
			wantRuns: [][]string{build, append(slices.Clone(deploy), "--no-confirm-changeset", "--parameter-overrides", saved+" ClientSecretRotation=adobe")},
			wantOut:  "ReserveConcurrency=true: the account's concurrency limit is 103, 103 of it unreserved: reserving 3",
		},
		{
			name: "a new alarm address replaces the saved one", tracked: tracked, local: savedLocal,
			set:      map[string]string{"AlarmEmail": "none"},
			acct:     &fakeConcurrency{limit: 1000, unreserved: 1000},
			wantRuns: [][]string{build, append(slices.Clone(deploy), "--no-confirm-changeset", "--parameter-overrides", `CredentialsSecretArn="`+arn+`" AlarmEmail="none"`)},
		},
		{
			name: "no alarm address: refused, saying what none means", tracked: tracked,
			set:     map[string]string{"CredentialsSecretArn": arn},
			acct:    &fakeConcurrency{limit: 1000, unreserved: 1000},
			wantErr: "no AlarmEmail yet: run make deploy ALARM_EMAIL=<an e-mail address for the alarms, or none for alarms that notify nobody",
		},
		{
			name: "a bad ARN: refused before anything is written", tracked: tracked,
			set:     map[string]string{"CredentialsSecretArn": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:c"},
			acct:    &fakeConcurrency{limit: 1000, unreserved: 1000},
			wantErr: `CREDENTIALS="arn:aws:secretsmanager:eu-west-1:123456789012:secret:c": want the credentials secret's full ARN`,
		},
		{
			name: "the file decides the reservation", tracked: tracked,
			local:    strings.Replace(savedLocal, `ops@example.com\"`, `ops@example.com\" ReserveConcurrency=\"true\"`, 1),
			acct:     &fakeConcurrency{err: errors.New("must not be asked")},
			wantRuns: [][]string{build, append(slices.Clone(deploy), "--no-confirm-changeset", "--parameter-overrides", saved+` ReserveConcurrency="true"`)},
			wantOut:  "ReserveConcurrency=true, as L sets it",
		},
		{
			name: "an earlier guided deploy's answers in the tracked file move to the local one", tracked: savedLocal,
			acct:     &fakeConcurrency{limit: 1000, unreserved: 1000},
			wantRuns: [][]string{build, append(slices.Clone(deploy), "--no-confirm-changeset", "--parameter-overrides", saved)},
			wantOut:  "are in L now: git checkout",
		},
		{
			name: "guided asks for everything", tracked: tracked, guided: true,
			acct:     &fakeConcurrency{limit: 1000, unreserved: 1000},
			wantRuns: [][]string{build, append(slices.Clone(deploy), "--guided")},
		},
		{
			name: "the account cannot be read: no deploy, and the way around", tracked: tracked, local: savedLocal,
			acct:    &fakeConcurrency{err: errors.New("AccessDeniedException")},
			wantErr: "lambda:GetAccountSettings): AccessDeniedException; set ReserveConcurrency=true or false",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file, localFile := filepath.Join(dir, "samconfig.toml"), filepath.Join(dir, "samconfig.local.toml")
			write := func(path, text string) {
				if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			write(file, tt.tracked)
			if tt.local != "" {
				write(localFile, tt.local)
			}
			var out bytes.Buffer
			var ran [][]string
			err := Deploy{
				Stack: "tokenrotator", ConfigFile: file, LocalFile: localFile, Set: tt.set, Guided: tt.guided,
				Lambda: tt.acct, Stacks: fakeStacks{function: tt.stack, csFunction: tt.csStack}, Out: &out,
				Exec: func(_ context.Context, name string, args ...string) error {
					ran = append(ran, append([]string{name}, args...))
					return nil
				},
			}.Run(context.Background())
			if got, _ := os.ReadFile(file); string(got) != tt.tracked {
				t.Errorf("the tracked file changed:\n%s\nwant\n%s", got, tt.tracked)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || ran != nil {
					t.Fatalf("Run() = %v, ran %q; want an error with %q and no sam", err, ran, tt.wantErr)
				}
				if got, _ := os.ReadFile(localFile); tt.local != "" && string(got) != tt.local {
					t.Errorf("a refused deploy changed the local file:\n%s", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run() = %v", err)
			}
			for j, r := range tt.wantRuns {
				r = slices.Clone(r)
				for i, a := range r {
					if a == "L" {
						r[i] = localFile
					}
				}
				tt.wantRuns[j] = r
			}
			if !slices.EqualFunc(ran, tt.wantRuns, slices.Equal[[]string]) {
				t.Errorf("ran %q,\nwant %q", ran, tt.wantRuns)
			}
			if got, _ := os.ReadFile(localFile); tt.wantLocal != "" && string(got) != tt.wantLocal {
				t.Errorf("local file:\n%s\nwant\n%s", got, tt.wantLocal)
			}
			if parsed, err := ParameterOverrides(string(must(os.ReadFile(localFile)))); err != nil {
				t.Errorf("the local file no longer parses: %v", err)
			} else if tt.set != nil && !strings.Contains(parsed, tt.set["AlarmEmail"]) {
				t.Errorf("local parameter_overrides %q lack AlarmEmail %q", parsed, tt.set["AlarmEmail"])
			}
			if got := strings.ReplaceAll(out.String(), localFile, "L"); !strings.Contains(got, tt.wantOut) {
				t.Errorf("printed %q, want %q", got, tt.wantOut)
			}
		})
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestWithOverrides(t *testing.T) {
	for _, tt := range []struct{ name, in string }{
		{"a string", "[default.deploy.parameters]\nparameter_overrides = \"A=\\\"1\\\"\"\nregion = \"x\"\n"},
		{"an array over lines", "[default.deploy.parameters]\nparameter_overrides = [\n  \"A=1\",\n]\nregion = \"x\"\n"},
		{"none in the section", "[default.deploy.parameters]\nregion = \"x\"\n"},
		{"no section", "version = 0.1\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, span, err := parameterOverrides(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := withOverrides(tt.in, span, setOverride(v, "B", "two"))
			back, err := ParameterOverrides(got)
			if err != nil || !strings.Contains(back, `B="two"`) {
				t.Errorf("after withOverrides:\n%s\nParameterOverrides() = %q, %v; want B=\"two\" in it", got, back, err)
			}
			if strings.Contains(tt.in, "region") && !strings.Contains(got, `region = "x"`) {
				t.Errorf("withOverrides lost the other settings:\n%s", got)
			}
			if v != "" && !strings.Contains(back, "A=") {
				t.Errorf("withOverrides lost A: %q", back)
			}
		})
	}
}
