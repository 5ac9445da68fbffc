package rotation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/rotationservice"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

// native is the rotator behind Secrets Manager's rotation protocol: moto_server
// behind the fault proxy, the IMS emulator, a TEST_URL server that checks the
// bearer token, and rotationservice in Secrets Manager's place.
type native struct {
	t        *testing.T
	sm       *secretsmanager.Client // straight to moto, for the test's own reads
	proxy    *faultproxy.Proxy
	ims      *imsemu.Server
	r        *rotation.Rotator
	svc      rotationservice.Service
	logs     *syncbuf.Buffer
	texts    []string     // every result and error, for the leak check
	testURL  atomic.Int32 // failing answers (503) left to give; negative: every answer fails
	testGets atomic.Int32 // requests TEST_URL received
	tokenURL string       // TOKEN_URL
	tokenID  string       // the token secret's ARN
	metrics  *lines
}

// lines records metric lines as "integration <name> ok|failed" and "run ok|failed".
type lines struct {
	mu  sync.Mutex
	all []string
}

func (l *lines) add(s string) { l.mu.Lock(); l.all = append(l.all, s); l.mu.Unlock() }
func (l *lines) Integration(name string, o metrics.Outcome) {
	l.add(fmt.Sprintf("integration %s %s", name, map[bool]string{true: "failed", false: "ok"}[o.Failed]))
}
func (l *lines) Run(s metrics.Summary) {
	l.add(fmt.Sprintf("run %s", map[bool]string{true: "failed", false: "ok"}[s.Failed > 0]))
}
func (l *lines) TokenRequest(name string, _ time.Duration, _ int) { l.add("latency " + name) }
func (l *lines) ClientSecretExpiry(name string, at time.Time) {
	l.add(fmt.Sprintf("client secret %s expires %s", name, at.Format(time.RFC3339)))
}
func (l *lines) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	all := l.all
	l.all = nil
	return all
}

const prefix = "tokenrotator/integrations/"

func newNative(t *testing.T) *native {
	t.Helper()
	return newNativeOn(t, motoserver.ForTest(t))
}

// newNativeOn is newNative on a moto_server the caller started, which it
// resets first: subtests share one server, as starting one takes seconds.
func newNativeOn(t *testing.T, moto *motoserver.Server) *native {
	t.Helper()
	if err := moto.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
	ims, err := imsemu.New(imsemu.Config{Clients: map[string]imsemu.Client{
		clientID: {Secrets: []string{sentinelSecret}}, "acme-client": {Secrets: []string{sentinelSecret}}}})
	if err != nil {
		t.Fatalf("imsemu.New: %v", err)
	}
	imsSrv := httptest.NewServer(ims)
	t.Cleanup(imsSrv.Close)
	t.Cleanup(ims.Close)
	proxy, err := faultproxy.New(moto.Endpoint)
	if err != nil {
		t.Fatalf("faultproxy.New: %v", err)
	}
	proxySrv := httptest.NewServer(proxy)
	t.Cleanup(proxySrv.Close)
	t.Cleanup(proxy.Close)

	n := &native{t: t, sm: secretsmanager.NewFromConfig(moto.AWSConfig()), proxy: proxy, ims: ims, logs: &syncbuf.Buffer{}, metrics: &lines{}}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.testGets.Add(1)
		issued := ims.Issued()
		if len(issued) == 0 || r.Header.Get("Authorization") != "Bearer "+issued[len(issued)-1].AccessToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if left := n.testURL.Load(); left != 0 {
			if left > 0 {
				n.testURL.Add(-1)
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(api.Close)

	creds := n.create(credsID, `{"client_id":"`+clientID+`","client_secret":"`+sentinelSecret+`"}`)
	n.tokenID = n.create(tokenID, "") // no value, as the stack creates it
	n.tokenURL = imsSrv.URL + imsemu.TokenPath + "?key=" + urlKeySentinel
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvCredentialsSecretID: creds, config.EnvTokenSecretID: n.tokenID,
			config.EnvTokenURL: n.tokenURL, config.EnvTestURL: api.URL + "/me?key=" + urlKeySentinel,
			config.EnvIntegrationSecretPrefix: prefix}[k]
	})
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	awsCfg := moto.AWSConfig()
	awsCfg.BaseEndpoint = aws.String(proxySrv.URL)
	awsCfg.RetryMaxAttempts = 1 // a fault is one failed call, as the step sees it
	sm := secretsmanager.NewFromConfig(awsCfg)
	store := secretstore.New(sm)
	log := slog.New(slog.NewJSONHandler(n.logs, nil))
	n.r = rotation.New(rotation.Config{
		Settings:  cfg,
		Store:     store,
		Versions:  store,
		Directory: secretstore.NewDirectory(sm),
		Fetchers:  rotation.NewFetchers(oauthtoken.Config{Logger: log, Reserve: 2 * time.Second}, rotation.Sources{}),
		Metrics:   n.metrics,
		Logger:    log,
	})
	n.svc = rotationservice.Service{SM: n.sm, Invoke: func(ctx context.Context, payload []byte) error {
		res, err := n.r.Handle(ctx, json.RawMessage(payload))
		b, _ := json.Marshal(res)
		n.texts = append(n.texts, string(b), fmt.Sprint(err))
		return err
	}}
	// The first token, as the deploy's custom resource writes it.
	if _, err := n.r.Handle(context.Background(), json.RawMessage(`{"force": true}`)); err != nil {
		t.Fatalf("first token: %v", err)
	}
	n.metrics.take()
	return n
}

func (n *native) create(name, value string) string {
	n.t.Helper()
	in := &secretsmanager.CreateSecretInput{Name: aws.String(name)}
	if value != "" {
		in.SecretString = aws.String(value)
	}
	out, err := n.sm.CreateSecret(context.Background(), in)
	if err != nil {
		n.t.Fatalf("CreateSecret(%s): %v", name, err)
	}
	return aws.ToString(out.ARN)
}

// stages is the token secret's stage table: version id → sorted labels.
func (n *native) stages(id string) map[string]string {
	n.t.Helper()
	lines, err := rotationservice.Stages(context.Background(), n.sm, id)
	if err != nil {
		n.t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range lines {
		v, s, _ := strings.Cut(l, ": ")
		m[v] = s
	}
	return m
}

// current is the access token a consumer reads now (AWSCURRENT, by a plain read).
func (n *native) current(id string) (version, token string) {
	n.t.Helper()
	out, err := n.sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		n.t.Fatalf("GetSecretValue: %v", err)
	}
	v, problem := secretstore.ParseToken(aws.ToString(out.SecretString))
	if problem != "" {
		n.t.Fatalf("current value: %s", problem)
	}
	return aws.ToString(out.VersionId), v.AccessToken
}

// urlKeySentinel is a key in TOKEN_URL's and TEST_URL's query: it shows
// nowhere either.
const urlKeySentinel = "SENTINEL-url-key-7c4e"

func (n *native) noLeak() {
	n.t.Helper()
	secrets := []string{sentinelSecret, urlKeySentinel}
	for _, i := range n.ims.Issued() {
		secrets = append(secrets, i.AccessToken)
	}
	for _, text := range append(n.texts, n.logs.String()) {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				n.t.Errorf("secret material leaked in %q", text)
			}
		}
	}
}

// TestProtocolStages drives the four steps as Secrets Manager does, each
// delivered twice, and checks the stage table after each.
func TestProtocolStages(t *testing.T) {
	n := newNative(t)
	ctx := context.Background()
	oldVersion, oldToken := n.current(n.tokenID)
	rot, err := n.svc.Begin(ctx, n.tokenID)
	if err != nil {
		t.Fatal(err)
	}
	pendingOnly := map[string]string{oldVersion: "AWSCURRENT", rot.Version: "AWSPENDING"}
	want := map[string]map[string]string{
		"createSecret": pendingOnly, "setSecret": pendingOnly, "testSecret": pendingOnly,
		"finishSecret": {oldVersion: "AWSPREVIOUS", rot.Version: "AWSCURRENT"},
	}
	if got := n.stages(n.tokenID); !equal(got, pendingOnly) {
		t.Fatalf("stages after Begin = %v, want %v", got, pendingOnly)
	}
	for _, step := range rotationservice.Steps {
		for delivery := 1; delivery <= 2; delivery++ {
			if err := n.svc.Step(ctx, rot, step); err != nil {
				t.Fatalf("%s (delivery %d): %v", step, delivery, err)
			}
			got := n.stages(n.tokenID)
			if !equal(got, want[step]) {
				t.Fatalf("stages after %s (delivery %d) = %v, want %v", step, delivery, got, want[step])
			}
			t.Logf("after %s, delivery %d: %v", step, delivery, got)
		}
		if step == "createSecret" {
			if version, token := n.current(n.tokenID); version != oldVersion || token != oldToken {
				t.Errorf("after createSecret consumers read version %s, want the old one %s", version, oldVersion)
			}
		}
	}
	if got := len(n.ims.Issued()); got != 2 {
		t.Errorf("tokens issued = %d, want 2: the first, and one by createSecret despite its duplicate delivery", got)
	}
	version, token := n.current(n.tokenID)
	if version != rot.Version || token == oldToken || token != n.ims.Issued()[1].AccessToken {
		t.Errorf("consumers read version %s, want %s holding the token createSecret fetched", version, rot.Version)
	}
	if got := n.proxy.Forwarded(faultproxy.PutSecretValue); got != 2 {
		t.Errorf("PutSecretValue calls = %d, want 2: the first token, and createSecret's despite its duplicate delivery", got)
	}
	if got, want := strings.Join(n.metrics.take(), "; "), "latency default; integration default ok; run ok"; got != want {
		t.Errorf("metric lines = %q, want %q: the latency at createSecret, the outcome at finishSecret", got, want)
	}
	if !strings.Contains(n.logs.String(), "setSecret: nothing to set at the provider") {
		t.Errorf("setSecret's log line is missing")
	}
	n.noLeak()
}

func equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestProtocolFailures fails each step once and for good, at the provider,
// at TEST_URL and at Secrets Manager. Consumers keep reading the last good
// token until a rotation finishes; after a failure once, the retry with the
// same version (as Secrets Manager's) finishes it.
func TestProtocolFailures(t *testing.T) {
	type fault struct {
		name   string
		step   string
		inject func(n *native, forGood bool)
		clear  func(n *native)
	}
	sm := func(target string) func(n *native, forGood bool) {
		return func(n *native, forGood bool) {
			times := 1
			if forGood {
				times = 0
			}
			n.proxy.Inject(faultproxy.Rule{Target: target, Fault: faultproxy.InternalServiceError(), Times: times})
		}
	}
	faults := []fault{
		{"provider refuses", "createSecret", func(n *native, forGood bool) {
			if forGood {
				n.ims.SetFault(imsemu.Status(http.StatusBadRequest, ""))
			} else {
				n.ims.Enqueue(imsemu.Status(http.StatusBadRequest, ""))
			}
		}, func(n *native) { n.ims.ClearFault() }},
		{"Secrets Manager refuses the pending write", "createSecret", sm(faultproxy.PutSecretValue), nil},
		{"Secrets Manager refuses the describe", "setSecret", sm(faultproxy.DescribeSecret), nil},
		{"TEST_URL answers 503", "testSecret", func(n *native, forGood bool) {
			if forGood {
				n.testURL.Store(-1)
			} else {
				n.testURL.Store(1)
			}
		}, func(n *native) { n.testURL.Store(0) }},
		{"Secrets Manager refuses the stage move", "finishSecret", sm(faultproxy.UpdateSecretVersionStage), nil},
	}
	moto := motoserver.ForTest(t)
	for _, f := range faults {
		for _, forGood := range []bool{false, true} {
			name := f.name + " once"
			if forGood {
				name = f.name + " for good"
			}
			t.Run(name, func(t *testing.T) {
				n := newNativeOn(t, moto)
				ctx := context.Background()
				goodVersion, goodToken := n.current(n.tokenID)
				rot, err := n.svc.Begin(ctx, n.tokenID)
				if err != nil {
					t.Fatal(err)
				}
				for _, step := range rotationservice.Steps[:slices.Index(rotationservice.Steps, f.step)] {
					if err := n.svc.Step(ctx, rot, step); err != nil {
						t.Fatal(err)
					}
					rot.Done = append(rot.Done, step)
				}
				f.inject(n, forGood)
				rot, err = n.svc.Continue(ctx, rot)
				if err == nil || !strings.HasPrefix(err.Error(), f.step) {
					t.Fatalf("rotation error = %v, want %s to fail", err, f.step)
				}
				if version, token := n.current(n.tokenID); version != goodVersion || token != goodToken {
					t.Fatalf("after %s failed, consumers read version %s, want the last good %s", f.step, version, goodVersion)
				}
				if got := n.metrics.take(); !slices.Contains(got, "integration default failed") || !slices.Contains(got, "run failed") {
					t.Errorf("metric lines after the failure = %q, want the integration's and the run's failure", got)
				}
				if forGood {
					// Secrets Manager retries; every retry fails the same way.
					for range 2 {
						if _, err := n.svc.Continue(ctx, rot); err == nil {
							t.Fatalf("retry succeeded, want it to fail again")
						}
					}
					if version, _ := n.current(n.tokenID); version != goodVersion {
						t.Fatalf("after retries, consumers read version %s, want the last good %s", version, goodVersion)
					}
					if f.clear != nil {
						f.clear(n)
					}
					n.proxy.Clear()
				}
				// The retry with the same version finishes the rotation.
				rot, err = n.svc.Continue(ctx, rot)
				if err != nil {
					t.Fatalf("retry after the fault: %v", err)
				}
				if version, _ := n.current(n.tokenID); version != rot.Version {
					t.Errorf("after the retry, consumers read version %s, want %s", version, rot.Version)
				}
				if got := n.stages(n.tokenID); got[rot.Version] != "AWSCURRENT" || got[goodVersion] != "AWSPREVIOUS" {
					t.Errorf("stages after the retry = %v, want %s AWSCURRENT and %s AWSPREVIOUS", got, rot.Version, goodVersion)
				}
				n.noLeak()
			})
		}
	}
}

// TestProtocolRefusals: a secret that is not ours, one without rotation,
// a version that is not pending, and a version already current.
func TestProtocolRefusals(t *testing.T) {
	n := newNative(t)
	ctx := context.Background()
	writes := func() int {
		return n.proxy.Forwarded(faultproxy.PutSecretValue) + n.proxy.Forwarded(faultproxy.UpdateSecretVersionStage)
	}

	foreign := n.create("payments/db-password", "hunter2")
	rot, err := n.svc.Begin(ctx, foreign)
	if err != nil {
		t.Fatal(err)
	}
	before := writes()
	err = n.svc.Step(ctx, rot, "createSecret")
	if err == nil || !strings.Contains(err.Error(), `secret "`+foreign+`" is not a token secret of this function`) {
		t.Errorf("createSecret on a foreign secret: %v, want a refusal naming it", err)
	}

	// The token secret before any rotation was set up.
	stray := rotationservice.Rotation{SecretARN: n.tokenID, Version: "11111111-2222-4333-8444-555555555555"}
	err = n.svc.Step(ctx, stray, "createSecret")
	if err == nil || !strings.Contains(err.Error(), "is not enabled for rotation") {
		t.Errorf("createSecret without rotation enabled: %v, want the refusal", err)
	}

	calls := map[string]int{}
	for _, op := range []string{faultproxy.DescribeSecret, faultproxy.GetSecretValue, faultproxy.PutSecretValue, faultproxy.UpdateSecretVersionStage, ""} {
		calls[op] = n.proxy.Calls(op)
	}
	first, err := n.svc.Rotate(ctx, n.tokenID)
	if err != nil {
		t.Fatal(err)
	}
	// The calls of one rotation of the function's own token secret, which
	// the cost table of the top-level README uses.
	for op, want := range map[string]int{faultproxy.DescribeSecret: 4, faultproxy.GetSecretValue: 6, faultproxy.PutSecretValue: 1,
		faultproxy.UpdateSecretVersionStage: 2, "": 13} {
		if got := n.proxy.Calls(op) - calls[op]; got != want {
			t.Errorf("%q calls in one rotation = %d, want %d", op, got, want)
		}
	}
	err = n.svc.Step(ctx, stray, "createSecret")
	if err == nil || !strings.Contains(err.Error(), "has no stage for rotation") {
		t.Errorf("createSecret for an unknown version: %v, want the refusal", err)
	}
	previous := n.stages(n.tokenID)
	var old string
	for v, s := range previous {
		if s == "AWSPREVIOUS" {
			old = v
		}
	}
	err = n.svc.Step(ctx, rotationservice.Rotation{SecretARN: n.tokenID, Version: old}, "testSecret")
	if err == nil || !strings.Contains(err.Error(), "is not set as AWSPENDING for rotation") {
		t.Errorf("testSecret for the AWSPREVIOUS version: %v, want the refusal", err)
	}
	if w := writes(); w != before+3 { // the one rotation's pending write, AWSCURRENT's move, AWSPENDING's removal
		t.Errorf("writes = %d, want %d: the refusals write nothing", w, before+3)
	}
	for _, step := range rotationservice.Steps {
		if err := n.svc.Step(ctx, first, step); err != nil {
			t.Errorf("%s of the version already current: %v, want nothing to do", step, err)
		}
	}
	if w := writes(); w != before+3 {
		t.Errorf("writes = %d, want %d: a current version needs nothing", w, before+3)
	}
	if !equal(n.stages(n.tokenID), previous) {
		t.Errorf("stages = %v, want unchanged %v", n.stages(n.tokenID), previous)
	}
	n.noLeak()
}

// TestProtocolAddedIntegration: Secrets Manager rotates an added
// integration's token secret with its own credentials and settings.
func TestProtocolAddedIntegration(t *testing.T) {
	n := newNative(t)
	ctx := context.Background()
	creds := n.create("acme/credentials", `{"client_id":"acme-client","client_secret":"`+sentinelSecret+`","test_url":""}`)
	out, err := n.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(prefix + "acme"), SecretString: aws.String("{}")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.sm.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: out.ARN,
		Tags: tags(integration.TagCredentials, creds)}); err != nil {
		t.Fatal(err)
	}
	if _, err := n.r.Handle(ctx, json.RawMessage(`{"force": true, "integration": "acme"}`)); err != nil {
		t.Fatalf("first token of acme: %v", err)
	}
	n.metrics.take()
	rot, err := n.svc.Rotate(ctx, aws.ToString(out.ARN))
	if err != nil {
		t.Fatalf("rotating acme: %v", err)
	}
	// No run line: the stale-token alarm watches the run line, and acme's
	// success says nothing of the function's own integration.
	if got, want := strings.Join(n.metrics.take(), "; "), "latency acme; integration acme ok"; got != want {
		t.Errorf("metric lines = %q, want %q", got, want)
	}
	issued := n.ims.Issued()
	if last := issued[len(issued)-1]; last.ClientID != "acme-client" {
		t.Errorf("createSecret fetched for %q, want acme-client", last.ClientID)
	}
	if version, _ := n.current(aws.ToString(out.ARN)); version != rot.Version {
		t.Errorf("acme's current version = %s, want %s", version, rot.Version)
	}
	if !slices.ContainsFunc(strings.Split(n.logs.String(), "\n"), func(l string) bool {
		return strings.Contains(l, `"integration":"acme"`) && strings.Contains(l, "finishSecret: new token is AWSCURRENT")
	}) {
		t.Errorf("no finishSecret log line names integration acme")
	}
	n.noLeak()
}

// TestProtocolAddedIntegrationOfAnotherProvider: an added integration with
// a token_url of its own and no test_url sends its token to no TEST_URL
// (the stack's may be another provider's), and testSecret says so once.
func TestProtocolAddedIntegrationOfAnotherProvider(t *testing.T) {
	n := newNative(t)
	ctx := context.Background()
	// The same emulator, spelt as another provider's endpoint.
	own := strings.Replace(n.tokenURL, "127.0.0.1", "localhost", 1)
	creds := n.create("acme/credentials", `{"client_id":"acme-client","client_secret":"`+sentinelSecret+`","token_url":"`+own+`"}`)
	out, err := n.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(prefix + "acme"), SecretString: aws.String("{}"),
		Tags: tags(integration.TagCredentials, creds)})
	if err != nil {
		t.Fatal(err)
	}
	before := n.testGets.Load()
	rot, err := n.svc.Rotate(ctx, aws.ToString(out.ARN))
	if err != nil {
		t.Fatalf("rotating acme: %v", err)
	}
	if got := n.testGets.Load() - before; got != 0 {
		t.Errorf("TEST_URL received %d requests during acme's rotation, want none: it may be another provider's", got)
	}
	if version, _ := n.current(aws.ToString(out.ARN)); version != rot.Version {
		t.Errorf("acme's current version = %s, want %s", version, rot.Version)
	}
	var skipped []map[string]any
	for l := range strings.SplitSeq(n.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "testSecret: TEST_URL not used" {
			skipped = append(skipped, m)
		}
	}
	if len(skipped) != 1 || skipped[0]["level"] != "INFO" || skipped[0]["integration"] != "acme" ||
		!strings.Contains(fmt.Sprint(skipped[0]["reason"]), "token_url of its own and no test_url") {
		t.Errorf("testSecret's TEST_URL lines = %v, want one INFO line for acme with the reason", skipped)
	}
	n.noLeak()
}

func tags(kv ...string) []types.Tag {
	var t []types.Tag
	for i := 0; i+1 < len(kv); i += 2 {
		t = append(t, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return t
}

// TestProtocolChecksThePendingValue: testSecret and finishSecret refuse a
// pending value that is not a fresh token for this integration, whoever
// wrote it, and AWSCURRENT stays.
func TestProtocolChecksThePendingValue(t *testing.T) {
	n := newNative(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	value := func(client, scope string, issued, expiry time.Time) string {
		b, _ := json.Marshal(secretstore.TokenValue{AccessToken: "SENTINEL-planted-token", TokenType: "bearer",
			IssuedAt: issued, Expiry: expiry, ClientID: client, Scope: scope})
		return string(b)
	}
	for _, tt := range []struct{ name, value, want string }{
		{"another client", value("someone-else", scope, now, now.Add(24*time.Hour)), `is a token for client "someone-else"`},
		{"another scope", value(clientID, "openid", now, now.Add(24*time.Hour)), `has scope "openid"`},
		{"expired", value(clientID, scope, now.Add(-25*time.Hour), now.Add(-time.Hour)), "expired at"},
		{"most of its life gone", value(clientID, scope, now.Add(-20*time.Hour), now.Add(4*time.Hour)), "less than half"},
		{"not a token", `{"password":"x"}`, "is no usable token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			goodVersion, _ := n.current(n.tokenID)
			rot, err := n.svc.Begin(ctx, n.tokenID)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := n.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(n.tokenID),
				ClientRequestToken: aws.String(rot.Version), SecretString: aws.String(tt.value), VersionStages: []string{"AWSPENDING"}}); err != nil {
				t.Fatal(err)
			}
			for _, step := range []string{"testSecret", "finishSecret"} {
				if err := n.svc.Step(ctx, rot, step); err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("%s = %v, want an error containing %q", step, err, tt.want)
				}
			}
			if version, _ := n.current(n.tokenID); version != goodVersion {
				t.Errorf("consumers read version %s, want the last good %s", version, goodVersion)
			}
		})
	}
	if strings.Contains(n.logs.String()+strings.Join(n.texts, ""), "SENTINEL-planted-token") {
		t.Errorf("the planted token was printed")
	}
	n.noLeak()
}
