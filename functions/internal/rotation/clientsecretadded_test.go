package rotation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/rotationservice"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
	"github.com/tokenrotator/tokenrotator/infra/ops"
)

const (
	addedOrg    = "ORG2@AdobeOrg"
	addedCred   = "cred-acme"
	addedClient = "acme-client"
	addedSecret = "SENTINEL-acme-client-secret-7f2"
	// addedAhead is how far the emulator's clock (Adobe's) runs ahead of
	// the rotator's: the old secret's last use, the management token
	// createSecret mints with it, then reads as a use after the switch
	// within addedGrace, as a token run in flight at the switch would.
	addedAhead = time.Minute
	addedGrace = 5 * time.Minute
	// The stack's outputs, as infra/ops reads them.
	addedCSFunction = "arn:aws:lambda:us-east-1:123456789012:function:tokenrotator-ClientSecretRotator"
	addedCSRules    = "rate(30 days)"
	addedOwnCreds   = "arn:aws:secretsmanager:us-east-1:123456789012:secret:tokenrotator/credentials-AbCdEf"
)

// inProcess is Lambda for infra/ops: each invocation is the rotator's
// Handle, answered as Lambda answers (a function error as errorMessage and
// errorType, flagged). It records each function name invoked, and each
// payload, result and error for the leak check.
type inProcess struct {
	r     *rotation.Rotator
	mu    sync.Mutex
	names []string
	texts []string
}

func (p *inProcess) Invoke(ctx context.Context, in *lambda.InvokeInput, _ ...func(*lambda.Options)) (*lambda.InvokeOutput, error) {
	res, err := p.r.Handle(ctx, json.RawMessage(in.Payload))
	out := &lambda.InvokeOutput{StatusCode: 200}
	if err != nil {
		out.Payload, _ = json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": "errorString"})
		out.FunctionError = aws.String("Unhandled")
	} else {
		out.Payload, _ = json.Marshal(res)
	}
	p.mu.Lock()
	p.names = append(p.names, aws.ToString(in.FunctionName))
	p.texts = append(p.texts, string(in.Payload), string(out.Payload))
	p.mu.Unlock()
	return out, nil
}

// recordedRotations stands for Secrets Manager's RotateSecret as infra/ops
// calls it; the rotation itself is then played by rotationservice.
type recordedRotations struct {
	mu      sync.Mutex
	rotates []*secretsmanager.RotateSecretInput
}

func (r *recordedRotations) RotateSecret(_ context.Context, in *secretsmanager.RotateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.RotateSecretOutput, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rotates = append(r.rotates, in)
	return &secretsmanager.RotateSecretOutput{}, nil
}

func (r *recordedRotations) CancelRotateSecret(context.Context, *secretsmanager.CancelRotateSecretInput, ...func(*secretsmanager.Options)) (*secretsmanager.CancelRotateSecretOutput, error) {
	return &secretsmanager.CancelRotateSecretOutput{}, nil
}

// TestClientSecretRotationOfAnAddedIntegration follows an added
// integration's client secret end to end: make integration-add's code
// (infra/ops Add, its invocations run in process) adds acme on a stack with
// the client-secret rotation; Secrets Manager's four steps on acme's
// credentials secret (found through its token secret's
// tokenrotator:credentials tag) add a secret at the emulator, test it and
// move AWSCURRENT; the old secret, used within the grace after the switch,
// is kept; acme's next token is minted with the new secret; and make
// client-secret-retire NAME=acme's code removes the old one at once.
func TestClientSecretRotationOfAnAddedIntegration(t *testing.T) {
	moto := motoserver.ForTest(t)
	ctx := context.Background()
	if err := moto.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	ims, err := imsemu.New(imsemu.Config{
		Clients: map[string]imsemu.Client{addedClient: {Secrets: []string{addedSecret}, OrgID: addedOrg, CredentialID: addedCred}},
		Now:     func() time.Time { return time.Now().Add(addedAhead) },
	})
	if err != nil {
		t.Fatal(err)
	}
	imsSrv := httptest.NewServer(ims)
	t.Cleanup(imsSrv.Close)
	t.Cleanup(ims.Close)

	sm := secretsmanager.NewFromConfig(moto.AWSConfig())
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvIntegrationSecretPrefix: prefix, config.EnvTokenURL: imsSrv.URL + imsemu.TokenPath,
			config.EnvClientSecretRotation: "adobe", config.EnvManagementURL: imsSrv.URL}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncbuf.Buffer{}
	r := newCSRotator(cfg, sm, logs, addedGrace, 0)
	fn := &inProcess{r: r}
	rotations := &recordedRotations{}
	var out bytes.Buffer
	awsCfg := moto.AWSConfig()
	op := ops.New(ops.Config{
		Stack: ops.Stack{Name: "tokenrotator", FunctionName: "tokenrotator", SecretPrefix: prefix,
			AlarmTopicARN: "arn:aws:sns:us-east-1:123456789012:tokenrotator-alarms", CredentialsARN: addedOwnCreds,
			ClientSecretRotation: ops.ClientSecretAdobe, ClientSecretFunctionARN: addedCSFunction, ClientSecretRules: addedCSRules},
		Secrets: sm, Rotations: rotations, Alarms: cloudwatch.NewFromConfig(awsCfg, ops.CloudWatchOptions(awsCfg)), Lambda: fn, Out: &out,
	})

	// make integration-add NAME=acme CREDENTIALS=<its credentials secret>
	value, _ := json.Marshal(map[string]string{"client_id": addedClient, "client_secret": addedSecret, "org_id": addedOrg, "credential_id": addedCred})
	created, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("acme/credentials"), SecretString: aws.String(string(value))})
	if err != nil {
		t.Fatal(err)
	}
	creds := aws.ToString(created.ARN)
	if _, err := op.Add(ctx, "acme", creds); err != nil {
		t.Fatalf("Add(acme) error = %v\n%s", err, out.String())
	}
	if len(rotations.rotates) != 1 || aws.ToString(rotations.rotates[0].SecretId) != creds || aws.ToString(rotations.rotates[0].RotationLambdaARN) != addedCSFunction {
		t.Fatalf("Add asked Secrets Manager for %d rotations, want one of %s on %s", len(rotations.rotates), creds, addedCSFunction)
	}
	old := secretUUIDs(ims)
	if len(old) != 1 {
		t.Fatalf("emulator holds %d secrets after Add, want 1", len(old))
	}

	// Secrets Manager's rotation of acme's credentials secret.
	var results []rotation.Result
	svc := rotationservice.Service{SM: sm, Invoke: func(ctx context.Context, payload []byte) error {
		res, err := r.Handle(ctx, json.RawMessage(payload))
		b, _ := json.Marshal(res)
		fn.mu.Lock()
		results = append(results, res)
		fn.texts = append(fn.texts, string(b), fmt.Sprint(err))
		fn.mu.Unlock()
		return err
	}}
	rot, err := svc.Begin(ctx, creds)
	if err != nil {
		t.Fatal(err)
	}
	oldVersion := ""
	for v, labels := range stagesOf(t, sm, creds) {
		if labels == "AWSCURRENT" {
			oldVersion = v
		}
	}
	var added string
	for _, step := range rotationservice.Steps {
		if err := svc.Step(ctx, rot, step); err != nil {
			t.Fatalf("%s: %v\n%s", step, err, logs.String())
		}
		res := results[len(results)-1]
		if res.Integration != "acme" || res.CredentialsSecretID != creds {
			t.Errorf("%s: result for integration %q, credentials %q; want acme's, %s", step, res.Integration, res.CredentialsSecretID, creds)
		}
		now, stages := secretUUIDs(ims), stagesOf(t, sm, creds)
		if len(now) != 2 || now[0] != old[0] {
			t.Fatalf("after %s: emulator holds %v, want the old secret %s and one new (at finishSecret, the old one kept: used within the grace)", step, now, old[0])
		}
		if added == "" {
			added = now[1]
		} else if now[1] != added {
			t.Errorf("after %s: the new secret changed from %s to %s", step, added, now[1])
		}
		want := map[string]string{oldVersion: "AWSCURRENT", rot.Version: "AWSPENDING"}
		if step == "finishSecret" {
			want = map[string]string{oldVersion: "AWSPREVIOUS", rot.Version: "AWSCURRENT"}
			if !strings.Contains(res.Reason, "kept until the next check") {
				t.Errorf("finishSecret reason = %q, want the old secret kept until the next check", res.Reason)
			}
		}
		if fmt.Sprint(stages) != fmt.Sprint(want) {
			t.Errorf("after %s: stages %v, want %v", step, stages, want)
		}
	}
	cur := credentialsValue(t, sm, creds)
	for k, want := range map[string]string{"client_id": addedClient, "org_id": addedOrg, "credential_id": addedCred,
		"client_secret_uuid": added, "client_secret_previous_uuid": old[0]} {
		if cur[k] != want {
			t.Errorf("acme's AWSCURRENT %s = %q, want %q", k, cur[k], want)
		}
	}
	if tag := tagsOf(t, sm, creds)[integration.TagClientSecretSwitch]; !strings.HasPrefix(tag, rot.Version+" ") {
		t.Errorf("switch tag = %q, want it naming version %s until the old secret is retired", tag, rot.Version)
	}

	// acme's next token run uses the new secret.
	mintedWith := func(what string) {
		t.Helper()
		res, err := r.Handle(ctx, json.RawMessage(`{"force": true, "integration": "acme"}`))
		if err != nil {
			t.Fatalf("%s: acme's token run: %v", what, err)
		}
		i := slices.IndexFunc(ims.Issued(), func(i imsemu.Issued) bool { return i.DebugID == res.DebugID })
		if res.DebugID == "" || i < 0 {
			t.Fatalf("%s: acme's token run (debug id %q) is not among the emulator's issued tokens", what, res.DebugID)
		}
		if got := ims.Issued()[i]; got.ClientID != addedClient || got.SecretUUID != added {
			t.Errorf("%s: acme's token was minted for %q with secret %s, want %s with the new secret %s", what, got.ClientID, got.SecretUUID, addedClient, added)
		}
	}
	mintedWith("after the rotation")

	// The scheduled check finds acme through the switch tag and its token
	// secret, and, within the grace, keeps the old secret.
	check, err := r.Handle(ctx, json.RawMessage(`{"client_secrets": "retire"}`))
	b, _ := json.Marshal(check)
	fn.texts = append(fn.texts, string(b), fmt.Sprint(err))
	if err != nil || len(check.Integrations) != 1 || check.Integrations[0].Integration != "acme" || len(check.Removed) != 0 {
		t.Errorf(`{"client_secrets": "retire"} = %d integrations, removed %v, error %v; want acme's, nothing removed within the grace`, len(check.Integrations), check.Removed, err)
	}
	if now := secretUUIDs(ims); len(now) != 2 {
		t.Errorf("emulator holds %v after the scheduled check within the grace, want both secrets", now)
	}

	// make client-secret-retire NAME=acme
	added0 := out.String() // what make integration-add printed
	out.Reset()
	payload, err := op.RetireClientSecrets(ctx, "acme")
	if err != nil {
		t.Fatalf("RetireClientSecrets(acme) error = %v\n%s", err, out.String())
	}
	var retired rotation.Result
	if err := json.Unmarshal(payload, &retired); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(retired.Removed) != fmt.Sprint([]string{old[0]}) || retired.Integration != "acme" || retired.CredentialsSecretID != creds {
		t.Errorf("retire-now result: integration %q, credentials %q, removed %v; want acme's, %s, [%s]", retired.Integration, retired.CredentialsSecretID, retired.Removed, creds, old[0])
	}
	if last := fn.names[len(fn.names)-1]; last != addedCSFunction {
		t.Errorf("retire-now invoked %q, want the client-secret rotator %s", last, addedCSFunction)
	}
	if now := secretUUIDs(ims); fmt.Sprint(now) != fmt.Sprint([]string{added}) {
		t.Errorf("emulator holds %v after retire-now, want only the new secret %s", now, added)
	}
	if tag, ok := tagsOf(t, sm, creds)[integration.TagClientSecretSwitch]; ok {
		t.Errorf("switch tag %q left after retire-now", tag)
	}
	mintedWith("after retire-now")

	// No client secret, management or access token anywhere.
	secrets := []string{addedSecret, credentialsValue(t, sm, creds)["client_secret"]}
	for _, i := range ims.Issued() {
		secrets = append(secrets, i.AccessToken)
	}
	texts := append([]string{logs.String(), added0, out.String()}, fn.texts...)
	for _, text := range texts {
		for _, s := range secrets {
			if s != "" && strings.Contains(text, s) {
				t.Errorf("secret material leaked in %.300q", text)
			}
		}
	}
}

// secretUUIDs are the uuids of acme's client secrets at the emulator,
// oldest first.
func secretUUIDs(ims *imsemu.Server) []string {
	infos, _ := ims.Secrets(addedClient)
	var out []string
	for _, i := range infos {
		out = append(out, i.UUID)
	}
	return out
}

// stagesOf is secret id's stage table: version id → labels.
func stagesOf(t *testing.T, sm *secretsmanager.Client, id string) map[string]string {
	t.Helper()
	lines, err := rotationservice.Stages(context.Background(), sm, id)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range lines {
		v, s, _ := strings.Cut(l, ": ")
		m[v] = s
	}
	return m
}

// credentialsValue reads the string fields of credentials secret id's
// AWSCURRENT.
func credentialsValue(t *testing.T, sm *secretsmanager.Client, id string) map[string]string {
	t.Helper()
	out, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &m); err != nil {
		t.Fatalf("credentials secret %s is not JSON", id)
	}
	s := map[string]string{}
	for k, v := range m {
		if str, ok := v.(string); ok {
			s[k] = str
		}
	}
	return s
}

func tagsOf(t *testing.T, sm *secretsmanager.Client, id string) map[string]string {
	t.Helper()
	out, err := sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, tg := range out.Tags {
		m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return m
}
