package ops_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// Principals that may be granted a token.
const (
	readerRole    = "arn:aws:iam::123456789012:role/acme-service"
	readerPath    = "arn:aws:iam::123456789012:role/team/billing/acme-billing"
	readerUser    = "arn:aws:iam::123456789012:user/ci"
	readerAccount = "arn:aws:iam::123456789012:root" // the stack's own account, moto's
)

func TestParseReaders(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr []string // each must be in the error
	}{
		{name: "one role", in: readerRole, want: []string{readerRole}},
		{name: "sorted, spaces trimmed, duplicates dropped", in: " " + readerUser + "," + readerRole + " , " + readerUser,
			want: []string{readerRole, readerUser}},
		{name: "a path, an account root, another partition", in: readerPath + "," + readerAccount + ",arn:aws-us-gov:iam::123456789012:role/gov",
			want: []string{"arn:aws-us-gov:iam::123456789012:role/gov", readerPath, readerAccount}},
		{name: "none", in: "none", want: []string{}},
		{name: "empty", in: " ", wantErr: []string{"readers are empty"}},
		{name: "a session", in: "arn:aws:sts::123456789012:assumed-role/acme-service/s1", wantErr: []string{`reader "arn:aws:sts::123456789012:assumed-role/acme-service/s1" is not an IAM role, user or account root ARN`}},
		{name: "everyone", in: "*", wantErr: []string{`reader "*" is not`}},
		{name: "a wildcard role", in: "arn:aws:iam::123456789012:role/*", wantErr: []string{`reader "arn:aws:iam::123456789012:role/*" is not`}},
		{name: "an account number", in: "123456789012", wantErr: []string{`reader "123456789012" is not`}},
		{name: "short account", in: "arn:aws:iam::1234:role/a", wantErr: []string{`reader "arn:aws:iam::1234:role/a" is not`}},
		{name: "an empty item", in: readerRole + ",," + readerUser, wantErr: []string{`reader "" is not`}},
		{name: "none among ARNs", in: "none," + readerRole, wantErr: []string{`reader "none" is not`}},
		{name: "every bad one named", in: "bad1," + readerRole + ",bad2", wantErr: []string{`reader "bad1"`, `reader "bad2"`, "nothing was changed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ops.ParseReaders(tt.in)
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("ParseReaders(%q) = %q, want an error", tt.in, got)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("ParseReaders(%q) error = %v, want it to contain %q", tt.in, err, want)
					}
				}
				return
			}
			if err != nil || got == nil || !slices.Equal(got, tt.want) {
				t.Errorf("ParseReaders(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
			}
		})
	}
}

// policyRecorder is Secrets Manager (moto_server), recording the
// PutResourcePolicy requests it passes on.
type policyRecorder struct {
	*secretsmanager.Client
	mu   sync.Mutex
	puts []secretsmanager.PutResourcePolicyInput
}

func (p *policyRecorder) PutResourcePolicy(ctx context.Context, in *secretsmanager.PutResourcePolicyInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutResourcePolicyOutput, error) {
	p.mu.Lock()
	p.puts = append(p.puts, *in)
	p.mu.Unlock()
	return p.Client.PutResourcePolicy(ctx, in, opts...)
}

// readersRig is the rig with its operator's Secrets Manager recording the
// resource policies it puts.
func readersRig(t *testing.T) (*rig, *policyRecorder) {
	t.Helper()
	r := newRig(t)
	rec := &policyRecorder{Client: r.sm}
	r.op = ops.New(ops.Config{Stack: ops.Stack{Name: testStack, FunctionName: testFunc, SecretPrefix: testPrefix, AlarmTopicARN: testTopic, CredentialsARN: testOwnCredentials},
		Secrets: rec, Alarms: r.cw, Lambda: r.lambda, Out: r.out})
	return r, rec
}

// readers returns the principals the resource policy of secret id lets
// read it, as Secrets Manager returns the policy, and fails unless the
// policy is exactly the one statement the operator writes; ok is false
// when the secret has no resource policy.
func (r *rig) readers(t *testing.T, id string) (readers []string, ok bool) {
	t.Helper()
	out, err := r.sm.GetResourcePolicy(context.Background(), &secretsmanager.GetResourcePolicyInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatalf("GetResourcePolicy(%s) error = %v", id, err)
	}
	if out.ResourcePolicy == nil {
		return nil, false
	}
	var doc struct {
		Version   string
		Statement []struct {
			Sid, Effect, Action, Resource string
			Principal                     struct{ AWS []string }
		}
	}
	dec := json.NewDecoder(strings.NewReader(aws.ToString(out.ResourcePolicy)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("resource policy of %s = %s: %v", id, aws.ToString(out.ResourcePolicy), err)
	}
	if len(doc.Statement) != 1 {
		t.Fatalf("resource policy of %s has %d statements, want 1: %s", id, len(doc.Statement), aws.ToString(out.ResourcePolicy))
	}
	s := doc.Statement[0]
	for _, c := range []struct{ field, got, want string }{
		{"Version", doc.Version, "2012-10-17"}, {"Sid", s.Sid, ops.ReaderPolicySid}, {"Effect", s.Effect, "Allow"},
		{"Action", s.Action, "secretsmanager:GetSecretValue"}, {"Resource", s.Resource, "*"},
	} {
		if c.got != c.want {
			t.Errorf("resource policy of %s: %s = %q, want %q", id, c.field, c.got, c.want)
		}
	}
	return s.Principal.AWS, true
}

func TestReaders(t *testing.T) {
	r, rec := readersRig(t)
	ctx := context.Background()
	token := testPrefix + "acme"
	if _, err := r.op.Add(ctx, "acme", r.credentials(t, "creds/acme")); err != nil {
		t.Fatalf("Add() error = %v\n%s", err, r.out)
	}
	if want := "acme: nobody may read the token yet: make integration-readers NAME=acme READERS=<principal ARNs> grants it"; !strings.Contains(r.out.String(), want) {
		t.Errorf("Add() output lacks %q:\n%s", want, r.out)
	}
	if got, ok := r.readers(t, token); ok {
		t.Errorf("a new token secret's readers = %q, want no resource policy", got)
	}

	r.out.Reset()
	if err := r.op.Readers(ctx, "acme", []string{readerUser, readerRole, readerUser}); err != nil {
		t.Fatalf("Readers() error = %v", err)
	}
	if got, _ := r.readers(t, token); !slices.Equal(got, []string{readerRole, readerUser}) {
		t.Errorf("readers = %q, want %q", got, []string{readerRole, readerUser})
	}
	if want := "acme: readers set: token secret teststack/integrations/acme's resource policy lets " + readerRole + ", " + readerUser + " read it"; !strings.Contains(r.out.String(), want) {
		t.Errorf("Readers() output lacks %q:\n%s", want, r.out)
	}
	for _, in := range rec.puts {
		if !aws.ToBool(in.BlockPublicPolicy) {
			t.Errorf("PutResourcePolicy(%s) BlockPublicPolicy = %v, want true", aws.ToString(in.SecretId), in.BlockPublicPolicy)
		}
	}

	// A new list replaces the old one.
	if err := r.op.Readers(ctx, "acme", []string{readerAccount}); err != nil {
		t.Fatalf("Readers() again: error = %v", err)
	}
	if got, _ := r.readers(t, token); !slices.Equal(got, []string{readerAccount}) {
		t.Errorf("readers after a new list = %q, want only %q", got, readerAccount)
	}

	// A bad list changes nothing.
	if err := r.op.Readers(ctx, "acme", []string{readerRole, "arn:aws:iam::123456789012:role/*"}); err == nil || !strings.Contains(err.Error(), `reader "arn:aws:iam::123456789012:role/*" is not`) {
		t.Errorf("Readers(a wildcard) error = %v, want it to name the wildcard", err)
	}
	if got, _ := r.readers(t, token); !slices.Equal(got, []string{readerAccount}) {
		t.Errorf("readers after a refused list = %q, want still %q", got, readerAccount)
	}

	r.out.Reset()
	if err := r.op.Readers(ctx, "acme", []string{}); err != nil {
		t.Fatalf("Readers(none) error = %v", err)
	}
	if got, ok := r.readers(t, token); ok {
		t.Errorf("readers after none = %q, want no resource policy", got)
	}
	if want := "acme: every reader's grant removed"; !strings.Contains(r.out.String(), want) {
		t.Errorf("Readers(none) output lacks %q:\n%s", want, r.out)
	}

	if _, err := r.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(testPrefix + "foreign"), SecretString: aws.String("x"),
		Tags: []smtypes.Tag{{Key: aws.String(integration.TagStack), Value: aws.String("otherstack")}}}); err != nil {
		t.Fatal(err)
	}
	refusals := []struct{ name, integration, wantErr string }{
		{name: "never added", integration: "nope", wantErr: `no integration "nope" in stack teststack: there is no token secret teststack/integrations/nope`},
		{name: "not ours", integration: "foreign", wantErr: "is not a token secret of stack teststack"},
		{name: "bad name", integration: "a/b", wantErr: "is not valid"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.op.Readers(ctx, tt.integration, []string{readerRole}); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Readers(%q) error = %v, want one containing %q", tt.integration, err, tt.wantErr)
			}
		})
	}
	if got, ok := r.readers(t, testPrefix+"foreign"); ok {
		t.Errorf("another stack's secret got readers %q", got)
	}
}

func TestAddWithReaders(t *testing.T) {
	r, rec := readersRig(t)
	ctx := context.Background()
	token := testPrefix + "acme"
	creds := r.credentials(t, "creds/acme")

	// A bad list: refused before anything changes.
	if _, err := r.op.Add(ctx, "acme", creds, readerRole, "arn:aws:sts::123456789012:assumed-role/x/y"); err == nil || !strings.Contains(err.Error(), `reader "arn:aws:sts::123456789012:assumed-role/x/y" is not`) {
		t.Fatalf("Add(a session ARN) error = %v, want it to name the session ARN", err)
	}
	if _, ok := r.describe(t, token); ok {
		t.Errorf("token secret created by an Add with a bad reader")
	}
	if got := r.tags(t, creds); len(got) != 0 {
		t.Errorf("credentials secret tagged %v by an Add with a bad reader", got)
	}
	if n := len(r.lambda.payloads()); n != 0 || len(rec.puts) != 0 {
		t.Errorf("an Add with a bad reader made %d invocations and %d PutResourcePolicy calls, want none", n, len(rec.puts))
	}

	if _, err := r.op.Add(ctx, "acme", creds, readerRole); err != nil {
		t.Fatalf("Add(readers) error = %v\n%s", err, r.out)
	}
	if got, _ := r.readers(t, token); !slices.Equal(got, []string{readerRole}) {
		t.Errorf("readers after Add = %q, want [%s]", got, readerRole)
	}
	out := r.out.String()
	created, granted := strings.Index(out, "acme: token secret "+token+" created"), strings.Index(out, "acme: readers set")
	if created < 0 || granted < created || granted > strings.Index(out, "acme: first rotation") {
		t.Errorf("Add() output: want the readers set after the token secret is created and before the first rotation:\n%s", out)
	}

	// Again without readers: they stay.
	r.out.Reset()
	if _, err := r.op.Add(ctx, "acme", creds); err != nil {
		t.Fatalf("Add() again: error = %v", err)
	}
	if got, _ := r.readers(t, token); !slices.Equal(got, []string{readerRole}) {
		t.Errorf("readers after an Add without readers = %q, want still [%s]", got, readerRole)
	}
	if want := "acme: readers of the token secret left as they were"; !strings.Contains(r.out.String(), want) {
		t.Errorf("second Add() output lacks %q:\n%s", want, r.out)
	}

	// Removing deletes the secret with its policy: added again, nobody reads it.
	if err := r.op.Remove(ctx, "acme"); err != nil {
		t.Fatalf("Remove() error = %v", err)
	}
	if _, err := r.op.Add(ctx, "acme", creds); err != nil {
		t.Fatalf("Add() after Remove: error = %v", err)
	}
	if got, ok := r.readers(t, token); ok {
		t.Errorf("readers after Remove and Add = %q, want none: the old grants must not come back", got)
	}
	checkNoSecrets(t, r.out.String())
}

func TestReaderPolicy(t *testing.T) {
	got, err := ops.ReaderPolicy([]string{readerUser, readerRole, readerUser})
	if err != nil {
		t.Fatalf("ReaderPolicy() error = %v", err)
	}
	want := `{"Statement":[{"Action":"secretsmanager:GetSecretValue","Effect":"Allow","Principal":{"AWS":["` + readerRole + `","` + readerUser + `"]},"Resource":"*","Sid":"IntegrationTokenReaders"}],"Version":"2012-10-17"}`
	if got != want {
		t.Errorf("ReaderPolicy() = %s, want %s", got, want)
	}
	for name, readers := range map[string][]string{"none": nil, "a bad one": {readerRole, "*"}} {
		if p, err := ops.ReaderPolicy(readers); err == nil {
			t.Errorf("ReaderPolicy(%s) = %s, want an error", name, p)
		}
	}
	many := make([]string, 400)
	for i := range many {
		many[i] = "arn:aws:iam::123456789012:role/service-with-a-rather-long-name-" + strings.Repeat("x", 3) + string(rune('a'+i%26)) + strings.Repeat("y", i/26)
	}
	if _, err := ops.ReaderPolicy(many); err == nil || !strings.Contains(err.Error(), "over the 20480 a secret's resource policy may hold") {
		t.Errorf("ReaderPolicy(400 roles) error = %v, want one saying the policy is too large", err)
	}
}

// TestCrossAccountReadersNeedTheKey: a reader of another account is set
// only when the token secret is encrypted with a customer managed key that
// the stack's output ReaderAccounts says admits its account (or an
// organization path, which the operator cannot check); otherwise Readers
// and Add refuse it, naming it, and change nothing.
func TestCrossAccountReadersNeedTheKey(t *testing.T) {
	const (
		key        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
		partner    = "arn:aws:iam::222222222222:role/partner-service"
		stranger   = "arn:aws:iam::444444444444:role/stranger"
		managedErr = "is in account 222222222222, but the token secret is encrypted with the AWS managed key aws/secretsmanager"
	)
	strangerErr := "reader " + stranger + " is in account 444444444444, which the stack's ReaderAccounts (222222222222,333333333333) do not name"
	tests := []struct {
		name       string
		key        string // the stack's token key, which Add creates the secret with
		keyReaders string // output ReaderAccounts
		readers    []string
		wantErr    string // empty: set
	}{
		{name: "same account, AWS managed key", readers: []string{readerRole, readerAccount}},
		{name: "other account, AWS managed key", readers: []string{readerRole, partner}, wantErr: managedErr},
		{name: "other account, AWS managed key, stack says nothing", keyReaders: "", readers: []string{partner}, wantErr: managedErr},
		{name: "admitted account", key: key, keyReaders: "222222222222,333333333333;", readers: []string{readerRole, partner}},
		{name: "account not admitted", key: key, keyReaders: "222222222222,333333333333;", readers: []string{partner, stranger}, wantErr: strangerErr},
		{name: "no account admitted", key: key, keyReaders: ";", readers: []string{partner},
			wantErr: "reader " + partner + " is in account 222222222222, which the stack's ReaderAccounts () do not name"},
		{name: "organization path", key: key, keyReaders: ";o-a1b2c3d4e5/r-ab12/", readers: []string{partner, stranger}},
		{name: "a given key the stack says nothing of", key: key, readers: []string{stranger}},
		{name: "a bad output", key: key, keyReaders: "2222;", readers: []string{partner}, wantErr: `"2222" is not a 12-digit account id`},
	}
	r, rec := readersRig(t) // one moto_server for every case: each has an integration of its own
	ctx := context.Background()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "acme-" + strconv.Itoa(i)
			token := testPrefix + name
			st := ops.Stack{Name: testStack, FunctionName: testFunc, SecretPrefix: testPrefix, AlarmTopicARN: testTopic, CredentialsARN: testOwnCredentials, TokenKMSKeyARN: tt.key, KeyReaders: tt.keyReaders}
			op := ops.New(ops.Config{Stack: st, Secrets: rec, Alarms: r.cw, Lambda: r.lambda, Out: r.out})
			creds := r.credentials(t, "creds/"+name)
			puts := len(rec.puts)

			// Add with the readers: refused before anything changes, or set.
			_, err := op.Add(ctx, name, creds, tt.readers...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "nothing was changed") {
					t.Fatalf("Add() error = %v, want one containing %q", err, tt.wantErr)
				}
				if _, ok := r.describe(t, token); ok || len(rec.puts) != puts || len(r.tags(t, creds)) != 0 {
					t.Errorf("a refused Add created the token secret, put a policy or tagged the credentials")
				}
				// Readers on an integration added without them: refused too.
				if _, err := op.Add(ctx, name, creds); err != nil {
					t.Fatalf("Add() without readers: error = %v", err)
				}
				if err := op.Readers(ctx, name, tt.readers); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Readers() error = %v, want one containing %q", err, tt.wantErr)
				}
				if got, ok := r.readers(t, token); ok || len(rec.puts) != puts {
					t.Errorf("a refused Readers() left readers %q", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Add() error = %v", err)
			}
			want := slices.Sorted(slices.Values(tt.readers))
			if got, _ := r.readers(t, token); !slices.Equal(got, want) {
				t.Errorf("readers after Add = %q, want %q", got, want)
			}
			if err := op.Readers(ctx, name, tt.readers[:1]); err != nil {
				t.Errorf("Readers() error = %v", err)
			}
		})
	}
}
