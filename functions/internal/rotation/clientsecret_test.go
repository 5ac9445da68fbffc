package rotation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/rotationservice"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

const (
	csOrg    = "ORG1@AdobeOrg"
	csCred   = "cred-77"
	csClient = "cs-client"
	csSecret = "SENTINEL-cs-client-secret-01d"
	// csOrphanAge and csGrace are the rig's OrphanAge and SwitchGrace.
	csOrphanAge = time.Second
	csGrace     = time.Second
)

// csRig is the client-secret rotation behind Secrets Manager's rotation
// protocol: moto_server behind the fault proxy, the IMS emulator with its
// management calls, and rotationservice on the credentials secret. The
// same Rotator keeps the token secret fresh, as the token function would.
type csRig struct {
	t        *testing.T
	sm       *secretsmanager.Client // straight to moto
	proxy    *faultproxy.Proxy
	ims      *imsemu.Server
	imsURL   string
	r        *rotation.Rotator
	svc      rotationservice.Service
	logs     *syncbuf.Buffer
	mu       sync.Mutex
	texts    []string
	credsARN string
	tokenARN string
}

// newCSRig starts the rig on moto, reset first. With knownUUID the
// credentials secret names its client secret's uuid, as after a first
// rotation; without, it holds only client_id and client_secret (and the
// ids), as a user creates it.
func newCSRig(t *testing.T, moto *motoserver.Server, knownUUID bool) *csRig {
	t.Helper()
	if err := moto.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	ims, err := imsemu.New(imsemu.Config{Clients: map[string]imsemu.Client{
		csClient: {Secrets: []string{csSecret}, OrgID: csOrg, CredentialID: csCred}}})
	if err != nil {
		t.Fatal(err)
	}
	imsSrv := httptest.NewServer(ims)
	t.Cleanup(imsSrv.Close)
	t.Cleanup(ims.Close)
	proxy, err := faultproxy.New(moto.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxySrv := httptest.NewServer(proxy)
	t.Cleanup(proxySrv.Close)
	t.Cleanup(proxy.Close)
	c := &csRig{t: t, sm: secretsmanager.NewFromConfig(moto.AWSConfig()), proxy: proxy, ims: ims, imsURL: imsSrv.URL, logs: &syncbuf.Buffer{}}

	value := map[string]any{"client_id": csClient, "client_secret": csSecret, "org_id": csOrg, "credential_id": csCred,
		"an_unknown_field": map[string]any{"kept": []int{1, 2}}, "scope": "openid,AdobeID"}
	if knownUUID {
		infos, _ := ims.Secrets(csClient)
		value["client_secret_uuid"] = infos[0].UUID
	}
	b, _ := json.Marshal(value)
	c.credsARN = c.create("tokenrotator/cs-credentials", string(b))
	c.tokenARN = c.create("tokenrotator/cs-token", "")
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvCredentialsSecretID: c.credsARN, config.EnvTokenSecretID: c.tokenARN,
			config.EnvTokenURL: imsSrv.URL + imsemu.TokenPath, config.EnvClientSecretRotation: "adobe",
			config.EnvManagementURL: imsSrv.URL, config.EnvIntegrationSecretPrefix: prefix}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	awsCfg := moto.AWSConfig()
	awsCfg.BaseEndpoint = aws.String(proxySrv.URL)
	awsCfg.RetryMaxAttempts = 1 // a fault is one failed call, as the step sees it
	c.r = newCSRotator(cfg, secretsmanager.NewFromConfig(awsCfg), c.logs, csGrace, csOrphanAge)
	c.svc = rotationservice.Service{SM: c.sm, Invoke: func(ctx context.Context, payload []byte) error {
		_, err := c.handle(ctx, string(payload))
		return err
	}}
	if _, err := c.handle(context.Background(), `{"force": true}`); err != nil {
		t.Fatalf("first token: %v", err)
	}
	return c
}

// newCSRotator wires a Rotator with the client-secret rotation as
// NewHandler does, on sm, logging to logs at DEBUG, never sleeping between
// retries; grace and orphanAge are its SwitchGrace and OrphanAge (zero:
// the defaults).
func newCSRotator(cfg config.Config, sm *secretsmanager.Client, logs io.Writer, grace, orphanAge time.Duration) *rotation.Rotator {
	store := secretstore.New(sm)
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	base := oauthtoken.Config{Logger: log, Reserve: 2 * time.Second, Sleep: func(context.Context, time.Duration) error { return nil }}
	return rotation.New(rotation.Config{
		Settings:    cfg,
		Store:       store,
		Versions:    store,
		Credentials: secretstore.NewCredentialStore(sm),
		Managers:    rotation.Managers(base),
		Directory:   secretstore.NewDirectory(sm),
		Fetchers:    rotation.NewFetchers(base, rotation.Sources{}),
		SwitchGrace: grace,
		OrphanAge:   orphanAge,
		Logger:      log,
	})
}

func (c *csRig) handle(ctx context.Context, payload string) (rotation.Result, error) {
	res, err := c.r.Handle(ctx, json.RawMessage(payload))
	b, _ := json.Marshal(res)
	c.mu.Lock()
	c.texts = append(c.texts, string(b), fmt.Sprint(err))
	c.mu.Unlock()
	return res, err
}

func (c *csRig) create(name, value string) string {
	c.t.Helper()
	in := &secretsmanager.CreateSecretInput{Name: aws.String(name)}
	if value != "" {
		in.SecretString = aws.String(value)
	}
	out, err := c.sm.CreateSecret(context.Background(), in)
	if err != nil {
		c.t.Fatalf("CreateSecret(%s): %v", name, err)
	}
	return aws.ToString(out.ARN)
}

// value reads the credentials secret's version with stage (and id, if
// set) as fields.
func (c *csRig) value(version, stage string) map[string]any {
	c.t.Helper()
	m, err := c.tryValue(version, stage)
	if err != nil {
		c.t.Fatalf("reading the credentials secret's %s: %v", stage, err)
	}
	return m
}

func (c *csRig) tryValue(version, stage string) (map[string]any, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.credsARN), VersionStage: aws.String(stage)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := c.sm.GetSecretValue(context.Background(), in)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &m); err != nil {
		return nil, fmt.Errorf("the credentials secret's %s is not JSON", stage)
	}
	return m, nil
}

// stages is the credentials secret's stage table: version id → labels.
func (c *csRig) stages() map[string]string {
	c.t.Helper()
	lines, err := rotationservice.Stages(context.Background(), c.sm, c.credsARN)
	if err != nil {
		c.t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range lines {
		v, s, _ := strings.Cut(l, ": ")
		m[v] = s
	}
	return m
}

// table is the secrets at the emulator and the credential's stages, as
// "emulator: <uuid> (used|never used) ...; stages: <version>: <labels> ...",
// each uuid and version named by the stage whose value holds it.
func (c *csRig) table() string {
	c.t.Helper()
	stages := c.stages()
	uuidAt := map[string]string{}
	var vs []string
	for v, labels := range stages {
		vs = append(vs, fmt.Sprintf("%s: %s", short(v), labels))
		stage := strings.Split(labels, ", ")[0]
		if m, err := c.tryValue(v, stage); err == nil {
			if u, ok := m["client_secret_uuid"].(string); ok {
				uuidAt[u] = labels
			}
		}
	}
	sort.Strings(vs)
	infos, _ := c.ims.Secrets(csClient)
	var ss []string
	for _, i := range infos {
		used := "never used"
		if !i.LastUsedAt.IsZero() {
			used = "used"
		}
		in := uuidAt[i.UUID]
		if in == "" {
			in = "in no version"
		}
		ss = append(ss, fmt.Sprintf("%s (%s, %s)", short(i.UUID), used, in))
	}
	return "emulator: " + strings.Join(ss, "; ") + " | stages: " + strings.Join(vs, "; ")
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// uuids are the uuids of the client's secrets at the emulator.
func (c *csRig) uuids() []string {
	infos, _ := c.ims.Secrets(csClient)
	var out []string
	for _, i := range infos {
		out = append(out, i.UUID)
	}
	return out
}

// check holds the invariants after any case: at most two secrets at the
// emulator; AWSCURRENT holds a secret that mints and whose uuid (when it
// names one) is listed; the token secret holds a valid token, and a forced
// token run (the token rotator around the rotation) stores a new one.
func (c *csRig) check(what string) {
	c.t.Helper()
	if n := len(c.uuids()); n > 2 {
		c.t.Errorf("%s: %d secrets at the emulator, want at most 2", what, n)
	}
	cur := c.value("", secretstore.StageCurrent)
	if u, ok := cur["client_secret_uuid"].(string); ok && !contains(c.uuids(), u) {
		c.t.Errorf("%s: AWSCURRENT's client_secret_uuid %s is not at the emulator", what, short(u))
	}
	f := oauthtoken.New(oauthtoken.Config{TokenURL: c.imsURL + imsemu.TokenPath, Scope: "openid"})
	if _, err := f.Fetch(context.Background(), oauthtoken.Credentials{ClientID: csClient, ClientSecret: fmt.Sprint(cur["client_secret"])}); err != nil {
		c.t.Errorf("%s: AWSCURRENT's client secret does not mint: %v", what, err)
	}
	c.tokenValid(what)
	if _, err := c.handle(context.Background(), `{"force": true}`); err != nil {
		c.t.Errorf("%s: a token run after it failed: %v", what, err)
	}
	c.tokenValid(what + ", then a token run")
}

func (c *csRig) tokenValid(what string) {
	c.t.Helper()
	out, err := c.sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.tokenARN)})
	if err != nil {
		c.t.Fatalf("%s: reading the token secret: %v", what, err)
	}
	if v, problem := secretstore.ParseToken(aws.ToString(out.SecretString)); problem != "" || !v.Expiry.After(time.Now()) {
		c.t.Errorf("%s: the token secret holds no valid token: %s", what, problem)
	}
}

// noLeak holds that no client secret (every value any version of the
// credentials secret held, and the first one), no management token and no
// access token appears in a log line, result or error.
func (c *csRig) noLeak() {
	c.t.Helper()
	secrets := []string{csSecret}
	ids, err := c.sm.ListSecretVersionIds(context.Background(), &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(c.credsARN), IncludeDeprecated: aws.Bool(true)})
	if err != nil {
		c.t.Fatal(err)
	}
	for _, v := range ids.Versions {
		out, err := c.sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(c.credsARN), VersionId: v.VersionId})
		if err != nil || out.SecretString == nil {
			continue
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(*out.SecretString), &m)
		if s, ok := m["client_secret"].(string); ok {
			secrets = append(secrets, s)
		}
	}
	if len(secrets) < 2 && len(c.uuids()) > 1 {
		c.t.Logf("noLeak: only the first client secret is known to the check")
	}
	for _, i := range c.ims.Issued() {
		secrets = append(secrets, i.AccessToken)
	}
	c.mu.Lock()
	texts := append(append([]string(nil), c.texts...), c.logs.String())
	c.mu.Unlock()
	for _, text := range texts {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				c.t.Errorf("secret material leaked in %.300q", text)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestClientSecretRotationStages drives the four steps as Secrets Manager
// does, each delivered twice, on credentials that name no uuid yet (a
// first rotation), and checks the secrets at the emulator and the stages
// after each.
func TestClientSecretRotationStages(t *testing.T) {
	c := newCSRig(t, motoserver.ForTest(t), false)
	ctx := context.Background()
	old := c.uuids()
	oldVersion := ""
	for v := range c.stages() {
		oldVersion = v
	}
	rot, err := c.svc.Begin(ctx, c.credsARN)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("before: %s", c.table())
	var added string
	for _, step := range rotationservice.Steps {
		for delivery := 1; delivery <= 2; delivery++ {
			if err := c.svc.Step(ctx, rot, step); err != nil {
				t.Fatalf("%s (delivery %d): %v", step, delivery, err)
			}
			t.Logf("after %s, delivery %d: %s", step, delivery, c.table())
			now := c.uuids()
			stages := c.stages()
			switch step {
			case "finishSecret":
				if len(now) != 1 || now[0] != added {
					t.Errorf("after %s: emulator holds %v, want only the new secret %s (the old one retired at once)", step, now, added)
				}
				if stages[rot.Version] != "AWSCURRENT" || stages[oldVersion] != "AWSPREVIOUS" {
					t.Errorf("after %s: stages %v, want the new version AWSCURRENT, the old AWSPREVIOUS", step, stages)
				}
			default:
				if len(now) != 2 || now[0] != old[0] {
					t.Fatalf("after %s: emulator holds %v, want the old secret and one new", step, now)
				}
				if added == "" {
					added = now[1]
				} else if now[1] != added {
					t.Errorf("after %s: the new secret changed from %s to %s: added twice", step, added, now[1])
				}
				if stages[rot.Version] != "AWSPENDING" || stages[oldVersion] != "AWSCURRENT" {
					t.Errorf("after %s: stages %v, want the new version AWSPENDING, the old AWSCURRENT", step, stages)
				}
			}
		}
	}
	cur := c.value("", secretstore.StageCurrent)
	want := map[string]any{"client_id": csClient, "org_id": csOrg, "credential_id": csCred, "scope": "openid,AdobeID",
		"client_secret_uuid": added, "client_secret_previous_uuid": old[0], "an_unknown_field": map[string]any{"kept": []any{1.0, 2.0}}}
	for k, v := range want {
		if fmt.Sprint(cur[k]) != fmt.Sprint(v) {
			t.Errorf("AWSCURRENT %s = %v, want %v", k, cur[k], v)
		}
	}
	if cur["client_secret"] == csSecret || len(cur) != len(want)+1 {
		t.Errorf("AWSCURRENT has %d fields (want %d) and the old client secret %v", len(cur), len(want)+1, cur["client_secret"] == csSecret)
	}
	if tags := c.tags(); tags[integration.TagClientSecretSwitch] != "" {
		t.Errorf("switch tag left after the retirement: %q", tags[integration.TagClientSecretSwitch])
	}
	if !strings.Contains(c.logs.String(), "setSecret: nothing to set at the provider") {
		t.Errorf("setSecret's log line is missing")
	}
	c.check("after the rotation")
	if infos, _ := c.ims.Secrets(csClient); infos[0].LastUsedAt.IsZero() {
		t.Errorf("the new secret was never used: the token run after the rotation did not use it")
	}
	c.noLeak()
}

func (c *csRig) tags() map[string]string {
	c.t.Helper()
	out, err := c.sm.DescribeSecret(context.Background(), &secretsmanager.DescribeSecretInput{SecretId: aws.String(c.credsARN)})
	if err != nil {
		c.t.Fatal(err)
	}
	m := map[string]string{}
	for _, t := range out.Tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}
