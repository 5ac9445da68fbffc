package ops_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// Sentinels: values that must never reach the operator's output.
const (
	clientSecretSentinel = "SENTINEL-CLIENT-SECRET-4d1f9a"
	accessTokenSentinel  = "SENTINEL-ACCESS-TOKEN-77c0e2"
)

const (
	testStack  = "teststack"
	testPrefix = "teststack/integrations/"
	testTopic  = "arn:aws:sns:us-east-1:123456789012:teststack-alarms"
	testFunc   = "teststack-RotatorFunction-x1"
	// testOwnCredentials stands for the stack's own credentials secret
	// (output CredentialsSecretArn) where a test does not create it.
	testOwnCredentials = "arn:aws:secretsmanager:us-east-1:123456789012:secret:teststack/credentials-AbCdEf"
)

// fakeLambda records Invoke calls and answers them with answer.
type fakeLambda struct {
	mu     sync.Mutex
	calls  []lambda.InvokeInput
	answer func(payload []byte) (*lambda.InvokeOutput, error)
}

func (f *fakeLambda) Invoke(_ context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	f.mu.Lock()
	f.calls = append(f.calls, *in)
	f.mu.Unlock()
	return f.answer(in.Payload)
}

func (f *fakeLambda) payloads() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var p []string
	for _, c := range f.calls {
		p = append(p, string(c.Payload))
	}
	return p
}

// rotated answers as the rotator does for a run of the integration the
// payload names, with an access token the operator must not print.
func rotated(payload []byte) (*lambda.InvokeOutput, error) {
	var ev struct {
		Integration string `json:"integration"`
	}
	_ = json.Unmarshal(payload, &ev)
	one := map[string]any{"integration": ev.Integration, "rotated": true, "reason": "forced", "expiry": "2026-11-30T05:00:00Z",
		"version_id": "v-" + ev.Integration, "client_id": "c", "access_token": accessTokenSentinel}
	res := map[string]any{"counts": map[string]int{"rotated": 1}, "integrations": []any{one}}
	for k, v := range one {
		res[k] = v
	}
	b, _ := json.Marshal(res)
	return &lambda.InvokeOutput{StatusCode: 200, Payload: b}, nil
}

// rig is an Operator over moto_server, with a fake Lambda.
type rig struct {
	sm     *secretsmanager.Client
	cw     *cloudwatch.Client
	lambda *fakeLambda
	out    *bytes.Buffer
	op     *ops.Operator
}

func newRig(t *testing.T) *rig {
	t.Helper()
	return newRigWith(motoserver.ForTest(t).AWSConfig())
}

func newRigWith(cfg aws.Config) *rig {
	r := &rig{
		sm:     secretsmanager.NewFromConfig(cfg),
		cw:     cloudwatch.NewFromConfig(cfg, ops.CloudWatchOptions(cfg)),
		lambda: &fakeLambda{answer: rotated},
		out:    &bytes.Buffer{},
	}
	r.op = r.operator(ops.Stack{Name: testStack, FunctionName: testFunc, SecretPrefix: testPrefix, AlarmTopicARN: testTopic, CredentialsARN: testOwnCredentials})
	return r
}

func (r *rig) operator(st ops.Stack) *ops.Operator {
	return ops.New(ops.Config{Stack: st, Secrets: r.sm, Alarms: r.cw, Lambda: r.lambda, Out: r.out})
}

// credentials creates a credentials secret holding the sentinel client
// secret and returns its ARN.
func (r *rig) credentials(t *testing.T, name string, tags ...smtypes.Tag) string {
	t.Helper()
	v, _ := json.Marshal(map[string]string{"client_id": "client-" + name, "client_secret": clientSecretSentinel})
	out, err := r.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{
		Name: aws.String(name), SecretString: aws.String(string(v)), Tags: tags,
	})
	if err != nil {
		t.Fatalf("CreateSecret(%s) error = %v", name, err)
	}
	return aws.ToString(out.ARN)
}

func (r *rig) describe(t *testing.T, id string) (*secretsmanager.DescribeSecretOutput, bool) {
	t.Helper()
	out, err := r.sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	var nf *smtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return nil, false
	}
	if err != nil {
		t.Fatalf("DescribeSecret(%s) error = %v", id, err)
	}
	return out, out.DeletedDate == nil
}

func (r *rig) tags(t *testing.T, id string) map[string]string {
	t.Helper()
	out, ok := r.describe(t, id)
	if !ok {
		t.Fatalf("secret %s does not exist", id)
	}
	m := map[string]string{}
	for _, tag := range out.Tags {
		m[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return m
}

func (r *rig) alarm(t *testing.T, name string) (cwtypes.MetricAlarm, bool) {
	t.Helper()
	out, err := r.cw.DescribeAlarms(context.Background(), &cloudwatch.DescribeAlarmsInput{AlarmNames: []string{name}})
	if err != nil {
		t.Fatalf("DescribeAlarms(%s) error = %v", name, err)
	}
	if len(out.MetricAlarms) == 0 {
		return cwtypes.MetricAlarm{}, false
	}
	return out.MetricAlarms[0], true
}

// checkNoSecrets fails when the output holds a sentinel.
func checkNoSecrets(t *testing.T, out string) {
	t.Helper()
	for what, s := range map[string]string{"the client secret": clientSecretSentinel, "the access token": accessTokenSentinel} {
		if strings.Contains(out, s) {
			t.Errorf("output holds %s:\n%s", what, out)
		}
	}
}

func TestAdd(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	creds := r.credentials(t, "creds/acme")

	rep, err := r.op.Add(ctx, "acme", creds)
	if err != nil {
		t.Fatalf("Add() error = %v\n%s", err, r.out)
	}
	if len(rep.Integrations) != 1 || rep.Integrations[0].Kind() != "rotated" {
		t.Errorf("Add() report = %+v, want acme rotated", rep)
	}

	if got, want := r.tags(t, creds), map[string]string{integration.TagStack: testStack}; !mapsEqual(got, want) {
		t.Errorf("credentials secret tags = %v, want %v", got, want)
	}
	token := testPrefix + "acme"
	wantTags := map[string]string{integration.TagStack: testStack, integration.TagIntegration: "acme", integration.TagCredentials: creds}
	if got := r.tags(t, token); !mapsEqual(got, wantTags) {
		t.Errorf("token secret tags = %v, want %v", got, wantTags)
	}
	val, err := r.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(token)})
	if err != nil || aws.ToString(val.SecretString) != "{}" {
		t.Errorf("token secret value = %q, %v; want {}", aws.ToString(val.SecretString), err)
	}
	if d, _ := r.describe(t, token); !strings.Contains(aws.ToString(d.Description), "integration acme") {
		t.Errorf("token secret description = %q, want it to name the integration", aws.ToString(d.Description))
	}
	checkAlarm(t, r, "acme")

	if got, want := r.lambda.payloads(), []string{`{"force":true,"integration":"acme"}`}; !slices.Equal(got, want) {
		t.Errorf("Invoke payloads = %q, want %q", got, want)
	}
	if got := aws.ToString(r.lambda.calls[0].FunctionName); got != testFunc {
		t.Errorf("Invoke FunctionName = %q, want %q", got, testFunc)
	}
	out := r.out.String()
	for _, want := range []string{
		"acme: credentials secret creds/acme found",
		"acme: credentials secret tagged tokenrotator:stack=teststack",
		"acme: token secret teststack/integrations/acme created",
		"acme: alarm teststack-integration-acme-stale set",
		`acme: first rotation: invoking teststack-RotatorFunction-x1 with {"force": true, "integration": "acme"}`,
		"acme: rotated: token expires 2026-11-30T05:00:00Z, version v-acme",
		"acme: added; consumers read secret teststack/integrations/acme",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	checkNoSecrets(t, out)

	// Again, with the same credentials: nothing new, one more rotation.
	r.out.Reset()
	if _, err := r.op.Add(ctx, "acme", creds); err != nil {
		t.Fatalf("Add() again: error = %v\n%s", err, r.out)
	}
	for _, want := range []string{"already tagged", "already exists for the same credentials secret: keeping it", "acme: rotated"} {
		if !strings.Contains(r.out.String(), want) {
			t.Errorf("second Add output lacks %q:\n%s", want, r.out)
		}
	}
	if got := len(r.lambda.payloads()); got != 2 {
		t.Errorf("Invoke calls = %d, want 2", got)
	}
}

func TestAddWithKMSKey(t *testing.T) {
	r := newRig(t)
	key := "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	op := r.operator(ops.Stack{Name: testStack, FunctionName: testFunc, SecretPrefix: testPrefix, AlarmTopicARN: testTopic, CredentialsARN: testOwnCredentials, TokenKMSKeyARN: key})
	if _, err := op.Add(context.Background(), "acme", r.credentials(t, "creds/acme")); err != nil {
		t.Fatalf("Add() error = %v", err)
	}
	if d, _ := r.describe(t, testPrefix+"acme"); aws.ToString(d.KmsKeyId) != key {
		t.Errorf("token secret KmsKeyId = %q, want %q", aws.ToString(d.KmsKeyId), key)
	}
}

// checkAlarm compares the stale alarm with the fleet design's.
func checkAlarm(t *testing.T, r *rig, name string) {
	t.Helper()
	a, ok := r.alarm(t, testStack+"-integration-"+name+"-stale")
	if !ok {
		t.Fatalf("alarm %s-integration-%s-stale does not exist", testStack, name)
	}
	dims := map[string]string{}
	for _, d := range a.Dimensions {
		dims[aws.ToString(d.Name)] = aws.ToString(d.Value)
	}
	checks := []struct {
		field     string
		got, want any
	}{
		{"Namespace", aws.ToString(a.Namespace), "TokenRotator"},
		{"MetricName", aws.ToString(a.MetricName), "RotationSucceeded"},
		{"Dimensions", dims, map[string]string{"FunctionName": testFunc, "Integration": name}},
		{"Statistic", a.Statistic, cwtypes.StatisticSum},
		{"Period", aws.ToInt32(a.Period), int32(3600)},
		{"EvaluationPeriods", aws.ToInt32(a.EvaluationPeriods), int32(24)},
		{"DatapointsToAlarm", aws.ToInt32(a.DatapointsToAlarm), int32(24)},
		{"Threshold", aws.ToFloat64(a.Threshold), 1.0},
		{"ComparisonOperator", a.ComparisonOperator, cwtypes.ComparisonOperatorLessThanThreshold},
		{"TreatMissingData", aws.ToString(a.TreatMissingData), "breaching"},
		{"AlarmActions", a.AlarmActions, []string{testTopic}},
		{"OKActions", a.OKActions, []string{testTopic}},
	}
	for _, c := range checks {
		if !equal(c.got, c.want) {
			t.Errorf("alarm %s = %v, want %v", c.field, c.got, c.want)
		}
	}
}

func equal(a, b any) bool {
	switch a := a.(type) {
	case []string:
		return slices.Equal(a, b.([]string))
	case map[string]string:
		return mapsEqual(a, b.(map[string]string))
	}
	return a == b
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestAddRefuses(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	creds := r.credentials(t, "creds/acme")
	otherCreds := r.credentials(t, "creds/other")
	foreign := r.credentials(t, "creds/foreign", smtypes.Tag{Key: aws.String(integration.TagStack), Value: aws.String("otherstack")})
	if _, err := r.op.Add(ctx, "taken", otherCreds); err != nil {
		t.Fatalf("Add(taken) error = %v", err)
	}
	if _, err := r.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(testPrefix + "squatter"), SecretString: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	missing := strings.Replace(creds, "creds/acme", "creds/nothere", 1)
	tests := []struct {
		name, integration, creds string
		wantErr                  string
	}{
		{name: "upper-case name", integration: "Acme", creds: creds, wantErr: `integration name "Acme" is not valid`},
		{name: "the stack's own name", integration: "default", creds: creds, wantErr: `integration name "default" is the stack's own integration's`},
		{name: "name too long", integration: strings.Repeat("a", 41), creds: creds, wantErr: "is not valid"},
		{name: "partial ARN", integration: "acme", creds: creds[:len(creds)-7], wantErr: "is a partial ARN"},
		{name: "a name for an ARN", integration: "acme", creds: "creds/acme", wantErr: "is not an ARN"},
		{name: "missing credentials secret", integration: "acme", creds: missing, wantErr: "credentials secret " + missing + " does not exist"},
		{name: "another stack's credentials", integration: "acme", creds: foreign, wantErr: "is tagged tokenrotator:stack=otherstack"},
		{name: "taken with other credentials", integration: "taken", creds: creds,
			wantErr: `integration "taken" already exists with credentials secret ` + otherCreds + ", not " + creds + ": remove it first (make integration-remove NAME=taken)"},
		{name: "a secret that is not ours", integration: "squatter", creds: creds, wantErr: "is not a token secret of stack teststack"},
		{name: "a token secret as credentials", integration: "acme", creds: tokenARN(t, r, "taken"), wantErr: "is a token secret of stack teststack"},
		{name: "credentials another integration uses", integration: "acme", creds: otherCreds,
			wantErr: `integration "acme": credentials secret ` + otherCreds + " already backs integration taken of stack teststack; a credentials secret backs one integration only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.op.Add(ctx, tt.integration, tt.creds)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Add(%q, %q) error = %v, want one containing %q", tt.integration, tt.creds, err, tt.wantErr)
			}
			if _, ok := r.describe(t, testPrefix+"acme"); ok {
				t.Errorf("token secret %sacme exists after a refused Add", testPrefix)
			}
		})
	}
	if got := r.tags(t, creds); len(got) != 0 {
		t.Errorf("credentials secret tags after refused Adds = %v, want none", got)
	}
	if got := r.tags(t, foreign); got[integration.TagStack] != "otherstack" {
		t.Errorf("another stack's credentials secret: %s = %q, want otherstack", integration.TagStack, got[integration.TagStack])
	}
	if got := len(r.lambda.payloads()); got != 1 {
		t.Errorf("Invoke calls = %d, want 1 (only the successful Add)", got)
	}
}

func tokenARN(t *testing.T, r *rig, name string) string {
	t.Helper()
	d, ok := r.describe(t, testPrefix+name)
	if !ok {
		t.Fatalf("no token secret for %s", name)
	}
	return aws.ToString(d.ARN)
}

func TestAddFirstRotationFails(t *testing.T) {
	r := newRig(t)
	cause := `fetching a token from https://ims.example/ims/token/v3 for client "client-acme": invalid_client: invalid client_secret parameter`
	r.lambda.answer = func([]byte) (*lambda.InvokeOutput, error) {
		return &lambda.InvokeOutput{StatusCode: 200, FunctionError: aws.String("Unhandled"),
			Payload: []byte(`{"errorMessage":` + quote(cause) + `,"errorType":"errorString"}`)}, nil
	}
	_, err := r.op.Add(context.Background(), "acme", r.credentials(t, "creds/acme"))
	var first *ops.FirstRotationError
	if !errors.As(err, &first) {
		t.Fatalf("Add() error = %v, want a *ops.FirstRotationError", err)
	}
	var fe *ops.FunctionError
	if !errors.As(err, &fe) || fe.Message != cause {
		t.Errorf("Add() error unwraps to %v, want the function error %q", fe, cause)
	}
	if !strings.Contains(err.Error(), "make rotate INTEGRATION=acme retries") {
		t.Errorf("Add() error = %q, want it to say how to retry", err)
	}
	out := r.out.String()
	for _, want := range []string{"acme: first rotation failed: " + cause, "acme: the integration stays added; after fixing the cause, make rotate INTEGRATION=acme retries"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, ok := r.describe(t, testPrefix+"acme"); !ok {
		t.Errorf("token secret gone after a failed first rotation, want it kept")
	}
	checkAlarm(t, r, "acme")
	checkNoSecrets(t, out)
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestRemove(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	shared := r.credentials(t, "creds/shared")
	own := r.credentials(t, "creds/own")
	for _, a := range []struct{ name, creds string }{{"acme", shared}, {"gamma", own}} {
		if _, err := r.op.Add(ctx, a.name, a.creds); err != nil {
			t.Fatalf("Add(%s) error = %v", a.name, err)
		}
	}
	// Add refuses a second integration of the same credentials secret; a
	// token secret made by hand can still name it.
	if _, err := r.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(testPrefix + "beta"), SecretString: aws.String("{}"),
		Tags: []smtypes.Tag{
			{Key: aws.String(integration.TagStack), Value: aws.String(testStack)},
			{Key: aws.String(integration.TagCredentials), Value: aws.String(shared)},
		}}); err != nil {
		t.Fatal(err)
	}

	r.out.Reset()
	if err := r.op.Remove(ctx, "acme"); err != nil {
		t.Fatalf("Remove(acme) error = %v\n%s", err, r.out)
	}
	if _, ok := r.describe(t, testPrefix+"acme"); ok {
		t.Errorf("acme's token secret still exists after Remove")
	}
	if _, ok := r.alarm(t, testStack+"-integration-acme-stale"); ok {
		t.Errorf("acme's alarm still exists after Remove")
	}
	if got := r.tags(t, shared)[integration.TagStack]; got != testStack {
		t.Errorf("shared credentials secret: %s = %q after removing acme, want %q (beta uses it)", integration.TagStack, got, testStack)
	}
	for _, want := range []string{"without a recovery window", "alarm teststack-integration-acme-stale deleted", "keeps its tokenrotator:stack tag: integration beta uses it too", "acme: removed"} {
		if !strings.Contains(r.out.String(), want) {
			t.Errorf("Remove output lacks %q:\n%s", want, r.out)
		}
	}
	for _, other := range []string{"beta", "gamma"} {
		if _, ok := r.describe(t, testPrefix+other); !ok {
			t.Errorf("removing acme deleted %s's token secret", other)
		}
	}
	checkAlarm(t, r, "gamma")

	r.out.Reset()
	if err := r.op.Remove(ctx, "beta"); err != nil {
		t.Fatalf("Remove(beta) error = %v", err)
	}
	if got, ok := r.tags(t, shared)[integration.TagStack]; ok {
		t.Errorf("shared credentials secret still tagged %s=%s after removing its last integration", integration.TagStack, got)
	}
	if !strings.Contains(r.out.String(), "credentials secret untagged") {
		t.Errorf("Remove(beta) output lacks the untag line:\n%s", r.out)
	}
	if got := r.tags(t, own)[integration.TagStack]; got != testStack {
		t.Errorf("gamma's credentials secret: %s = %q, want %q", integration.TagStack, got, testStack)
	}
	checkNoSecrets(t, r.out.String())

	if _, err := r.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(testPrefix + "foreign"), SecretString: aws.String("x"),
		Tags: []smtypes.Tag{{Key: aws.String(integration.TagStack), Value: aws.String("otherstack")}}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, integration, wantErr string }{
		{name: "removed already", integration: "acme", wantErr: `no integration "acme" in stack teststack: there is no token secret teststack/integrations/acme`},
		{name: "never added", integration: "nope", wantErr: `no integration "nope"`},
		{name: "not ours", integration: "foreign", wantErr: "is not a token secret of stack teststack"},
		{name: "bad name", integration: "a/b", wantErr: "is not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.op.Remove(ctx, tt.integration); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Remove(%q) error = %v, want one containing %q", tt.integration, err, tt.wantErr)
			}
		})
	}
	if _, ok := r.describe(t, testPrefix+"foreign"); !ok {
		t.Errorf("Remove deleted a secret that is not the stack's")
	}
}

// TestAddRefusesTheStacksOwnCredentials: an integration made from the
// credentials secret of the stack's own integration would make the rotator
// refuse it at every run; Add refuses it first, naming it, and sets up
// nothing.
func TestAddRefusesTheStacksOwnCredentials(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	own := r.credentials(t, "teststack/credentials")
	op := r.operator(ops.Stack{Name: testStack, FunctionName: testFunc, SecretPrefix: testPrefix, AlarmTopicARN: testTopic, CredentialsARN: own})
	_, err := op.Add(ctx, "acme", own)
	want := `integration "acme": credentials secret ` + own + " is the one of stack teststack's own integration (default, output CredentialsSecretArn)"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Add(the stack's own credentials) error = %v, want %q", err, want)
	}
	if _, exists := r.describe(t, testPrefix+"acme"); exists {
		t.Error("the token secret was created")
	}
	if tags := r.tags(t, own); len(tags) != 0 {
		t.Errorf("the stack's own credentials secret was tagged %v", tags)
	}
	if _, ok := r.alarm(t, ops.AlarmName(testStack, "acme")); ok {
		t.Error("the stale alarm was put")
	}
	if calls := r.lambda.payloads(); len(calls) != 0 {
		t.Errorf("the function was invoked: %v", calls)
	}
	// Without the stack's own credentials secret, Add cannot tell: it stops.
	op = r.operator(ops.Stack{Name: testStack, FunctionName: testFunc, SecretPrefix: testPrefix, AlarmTopicARN: testTopic})
	if _, err := op.Add(ctx, "acme", own); err == nil || !strings.Contains(err.Error(), "CredentialsSecretArn") {
		t.Errorf("Add() without output CredentialsSecretArn: error = %v, want it named", err)
	}
}
