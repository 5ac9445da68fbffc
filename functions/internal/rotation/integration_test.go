package rotation_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

const (
	clientID       = "integration-client"
	sentinelSecret = "SENTINEL-client-secret-5eed"
	scope          = "openid,AdobeID,read_organizations"
	credsID        = "tokenrotator/credentials"
	tokenID        = "tokenrotator/token"
)

// stack is the real SDK against moto_server and the real fetcher against
// the IMS emulator, wired as functions/rotator wires them.
type stack struct {
	t    *testing.T
	sm   *secretsmanager.Client
	ims  *imsemu.Server
	r    *rotation.Rotator
	logs *syncbuf.Buffer
}

func newStack(t *testing.T, tokenValue *string) *stack {
	t.Helper()
	moto := motoserver.ForTest(t)
	ims, err := imsemu.New(imsemu.Config{Clients: map[string]imsemu.Client{clientID: {Secrets: []string{sentinelSecret}}}})
	if err != nil {
		t.Fatalf("imsemu.New: %v", err)
	}
	srv := httptest.NewServer(ims)
	t.Cleanup(srv.Close)
	t.Cleanup(ims.Close)
	s := &stack{t: t, sm: secretsmanager.NewFromConfig(moto.AWSConfig()), ims: ims, logs: &syncbuf.Buffer{}}
	s.create(credsID, aws.String(`{"client_id":"`+clientID+`","client_secret":"`+sentinelSecret+`"}`))
	s.create(tokenID, tokenValue)
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvCredentialsSecretID: credsID, config.EnvTokenSecretID: tokenID,
			config.EnvTokenURL: srv.URL + imsemu.TokenPath}[k]
	})
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(s.logs, nil))
	s.r = rotation.New(rotation.Config{
		Settings: cfg,
		Store:    secretstore.New(s.sm),
		Fetchers: rotation.NewFetchers(oauthtoken.Config{Logger: log, Reserve: 2 * time.Second}, rotation.Sources{}),
		Logger:   log,
	})
	return s
}

func (s *stack) create(name string, value *string) {
	s.t.Helper()
	if _, err := s.sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: value}); err != nil {
		s.t.Fatalf("CreateSecret(%s): %v", name, err)
	}
}

// run invokes the handler with a 20-second deadline, as Lambda would.
func (s *stack) run(payload string) (rotation.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return s.r.Handle(ctx, json.RawMessage(payload))
}

// versions returns the token secret's version ids by stage.
func (s *stack) versions() map[string]string {
	s.t.Helper()
	out, err := s.sm.ListSecretVersionIds(context.Background(), &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(tokenID)})
	if err != nil {
		s.t.Fatalf("ListSecretVersionIds: %v", err)
	}
	m := map[string]string{}
	for _, v := range out.Versions {
		for _, stage := range v.VersionStages {
			m[stage] = aws.ToString(v.VersionId)
		}
	}
	m["count"] = strconv.Itoa(len(out.Versions))
	return m
}

func (s *stack) stored() map[string]any {
	s.t.Helper()
	out, err := s.sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(tokenID)})
	if err != nil {
		s.t.Fatalf("GetSecretValue: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &m); err != nil {
		s.t.Fatalf("stored value is not JSON: %v", err)
	}
	return m
}

// noLeak checks that no log line, error or result carries the client secret
// or any token the emulator issued.
func (s *stack) noLeak(texts ...string) {
	s.t.Helper()
	texts = append(texts, s.logs.String())
	secrets := []string{sentinelSecret}
	for _, i := range s.ims.Issued() {
		secrets = append(secrets, i.AccessToken)
	}
	for _, text := range texts {
		for _, secret := range secrets {
			if strings.Contains(text, secret) {
				s.t.Errorf("secret material leaked in %q", text)
			}
		}
	}
}

const scheduled = `{"version":"0","id":"1","detail-type":"Scheduled Event","source":"aws.scheduler","resources":["arn:aws:scheduler:us-east-1:123456789012:schedule/default/tokenrotator"],"detail":"{}"}`

func TestFirstRunThenNoOpThenForce(t *testing.T) {
	s := newStack(t, nil)
	res, err := s.run(scheduled)
	if err != nil || !res.Rotated {
		t.Fatalf("first run = %+v, %v; want a rotation", res, err)
	}
	issued := s.ims.Issued()
	if len(issued) != 1 {
		t.Fatalf("tokens issued = %d, want 1", len(issued))
	}
	got := s.stored()
	if got["access_token"] != issued[0].AccessToken || got["token_type"] != "bearer" || got["client_id"] != clientID || got["scope"] != scope {
		t.Errorf("stored = %v (token hidden), want the issued bearer token for %s with scope %s", redact(got), clientID, scope)
	}
	exp, err1 := time.Parse(time.RFC3339, got["expiry"].(string))
	iat, err2 := time.Parse(time.RFC3339, got["issued_at"].(string))
	if err1 != nil || err2 != nil || exp.Sub(iat) != 86399*time.Second || time.Since(iat) > time.Minute || !strings.HasSuffix(got["expiry"].(string), "Z") {
		t.Errorf("expiry %v, issued_at %v: want RFC 3339 UTC, 86399 s apart, issued now", got["expiry"], got["issued_at"])
	}
	var tok struct {
		AccessToken string    `json:"access_token"`
		Expiry      time.Time `json:"expiry"`
	}
	raw, _ := json.Marshal(got)
	if err := json.Unmarshal(raw, &tok); err != nil || tok.AccessToken == "" || !tok.Expiry.Equal(exp) {
		t.Errorf("stored value does not decode as an oauth2.Token: %v", err)
	}
	first := s.versions()

	res, err = s.run(scheduled)
	if err != nil || res.Rotated || res.VersionID != first["AWSCURRENT"] {
		t.Fatalf("second run = %+v, %v; want no rotation", res, err)
	}
	if n := s.ims.Requests(); n != 1 {
		t.Errorf("token requests after the second run = %d, want 1", n)
	}
	if v := s.versions(); v["count"] != "1" {
		t.Errorf("versions after the second run = %v, want 1", v)
	}

	res, err = s.run(`{"force": true}`)
	if err != nil || !res.Rotated {
		t.Fatalf("forced run = %+v, %v; want a rotation", res, err)
	}
	v := s.versions()
	if v["AWSPREVIOUS"] != first["AWSCURRENT"] || v["AWSCURRENT"] != res.VersionID || v["count"] != "2" {
		t.Errorf("versions = %v, want the first as AWSPREVIOUS and %s as AWSCURRENT", v, res.VersionID)
	}
	if res.PreviousVersionID != first["AWSCURRENT"] {
		t.Errorf("PreviousVersionID = %s, want %s", res.PreviousVersionID, first["AWSCURRENT"])
	}
	out, _ := json.Marshal(res)
	s.noLeak(string(out))
}

func TestPlaceholderIsFilled(t *testing.T) {
	s := newStack(t, aws.String(`{}`))
	if res, err := s.run(`{}`); err != nil || !res.Rotated || !strings.Contains(res.Reason, "placeholder") {
		t.Fatalf("run = %+v, %v; want the placeholder replaced", res, err)
	}
}

func TestTwo503sAreRetriedToSuccess(t *testing.T) {
	s := newStack(t, nil)
	s.ims.Enqueue(imsemu.Status(503, "1"), imsemu.Status(503, "1"))
	res, err := s.run(scheduled)
	if err != nil || !res.Rotated {
		t.Fatalf("run = %+v, %v; want success after two 503s", res, err)
	}
	if n := s.ims.Requests(); n != 3 {
		t.Errorf("token requests = %d, want 3", n)
	}
	s.noLeak()
}

func TestUnavailableForeverFailsBeforeTheDeadline(t *testing.T) {
	s := newStack(t, nil)
	if _, err := s.run(`{}`); err != nil {
		t.Fatalf("first run: %v", err)
	}
	before := s.versions()
	s.ims.SetFault(imsemu.Status(503, "1"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := s.r.Handle(ctx, json.RawMessage(`{"force":true}`))
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "gave up") || !strings.Contains(err.Error(), "HTTP 503") {
		t.Fatalf("run error = %v, want a clear give-up on HTTP 503", err)
	}
	if took > 8*time.Second {
		t.Errorf("run took %v of its 10 s, want it back with the reserve left", took)
	}
	if after := s.versions(); after["AWSCURRENT"] != before["AWSCURRENT"] || after["count"] != before["count"] {
		t.Errorf("versions = %v, want unchanged %v", after, before)
	}
	s.noLeak(err.Error())
}

func TestMalformedResponsesStoreNothing(t *testing.T) {
	faults := map[string]imsemu.Fault{
		"not JSON": imsemu.NotJSON(), "no access_token": imsemu.NoAccessToken(), "error in a 200": imsemu.ErrorIn200(),
		"no expires_in": imsemu.NoExpiresIn(), "zero expires_in": imsemu.ZeroExpiresIn(), "token_type mac": imsemu.TokenType("mac"),
		"several MB": imsemu.HugeBody(4 << 20),
	}
	s := newStack(t, nil)
	for name, f := range faults {
		t.Run(name, func(t *testing.T) {
			s.ims.ResetCounters()
			s.ims.Enqueue(f)
			_, err := s.run(`{}`)
			if err == nil || !strings.Contains(err.Error(), "token response refused") {
				t.Fatalf("run error = %v, want a refused token response", err)
			}
			if n := s.ims.Requests(); n != 1 {
				t.Errorf("token requests = %d, want 1", n)
			}
			if v := s.versions(); v["count"] != "0" {
				t.Errorf("versions = %v, want none", v)
			}
			s.noLeak(err.Error())
		})
	}
}

func TestWrongClientSecretFailsAtOnce(t *testing.T) {
	s := newStack(t, nil)
	if err := s.ims.SetClient(clientID, imsemu.Client{Secrets: []string{"another-secret"}}); err != nil {
		t.Fatal(err)
	}
	_, err := s.run(`{}`)
	if err == nil || !strings.Contains(err.Error(), "invalid_client") || !strings.Contains(err.Error(), "X-Debug-Id") {
		t.Fatalf("run error = %v, want invalid_client with the debug id", err)
	}
	if n := s.ims.Requests(); n != 1 {
		t.Errorf("token requests = %d, want 1 (no retry)", n)
	}
	s.noLeak(err.Error())
}

func TestBadCredentialsSecretNamesSecretAndField(t *testing.T) {
	s := newStack(t, nil)
	for _, c := range []struct{ value, want string }{
		{`client_id=x`, `credentials secret "tokenrotator/credentials": value is not a JSON object`},
		{`{"client_id":"x"}`, `credentials secret "tokenrotator/credentials": field "client_secret" is missing`},
	} {
		if _, err := s.sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String(credsID), SecretString: aws.String(c.value)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.run(`{}`); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("run error = %v, want %q", err, c.want)
		}
	}
	if n := s.ims.Requests(); n != 0 {
		t.Errorf("token requests = %d, want 0", n)
	}
}

// cfnResponses stands in for CloudFormation's ResponseURL.
type cfnResponses struct {
	mu   sync.Mutex
	got  []map[string]any
	srv  *httptest.Server
	body string
}

func newCFN(t *testing.T) *cfnResponses {
	c := &cfnResponses{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		c.mu.Lock()
		c.got = append(c.got, m)
		c.body += string(b)
		c.mu.Unlock()
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *cfnResponses) event(requestType string) string {
	return `{"RequestType":"` + requestType + `","ResponseURL":"` + c.srv.URL + `/cfn","StackId":"arn:aws:cloudformation:us-east-1:123456789012:stack/tokenrotator/1",` +
		`"RequestId":"req-1","LogicalResourceId":"FirstToken","ResourceType":"Custom::FirstToken","PhysicalResourceId":"tokenrotator/token","ResourceProperties":{}}`
}

func TestCustomResource(t *testing.T) {
	t.Run("Create reports SUCCESS with the new version", func(t *testing.T) {
		s, c := newStack(t, nil), newCFN(t)
		res, err := s.run(c.event("Create"))
		if err != nil || res.CustomResource != "SUCCESS" {
			t.Fatalf("run = %+v, %v; want SUCCESS", res, err)
		}
		if len(c.got) != 1 || c.got[0]["Status"] != "SUCCESS" {
			t.Fatalf("responses = %v, want one SUCCESS", c.got)
		}
		data, _ := c.got[0]["Data"].(map[string]any)
		if data["VersionId"] != s.versions()["AWSCURRENT"] || data["VersionId"] == "" {
			t.Errorf("Data = %v, want VersionId %s", data, s.versions()["AWSCURRENT"])
		}
		s.noLeak(c.body)
	})
	t.Run("bad credentials report FAILED with the IMS error", func(t *testing.T) {
		s, c := newStack(t, nil), newCFN(t)
		_ = s.ims.SetClient(clientID, imsemu.Client{Secrets: []string{"another-secret"}})
		res, err := s.run(c.event("Create"))
		if err != nil || !strings.HasPrefix(res.CustomResource, "FAILED") {
			t.Fatalf("run = %+v, %v; want FAILED reported and the invocation itself to succeed", res, err)
		}
		if len(c.got) != 1 || c.got[0]["Status"] != "FAILED" || !strings.Contains(c.got[0]["Reason"].(string), "invalid_client") {
			t.Fatalf("responses = %v, want FAILED naming invalid_client", c.got)
		}
		if v := s.versions(); v["count"] != "0" {
			t.Errorf("versions = %v, want none", v)
		}
		s.noLeak(c.body)
	})
	t.Run("Delete reports SUCCESS without asking IMS", func(t *testing.T) {
		s, c := newStack(t, nil), newCFN(t)
		res, err := s.run(c.event("Delete"))
		if err != nil || res.CustomResource != "SUCCESS" || len(c.got) != 1 || c.got[0]["Status"] != "SUCCESS" {
			t.Fatalf("run = %+v, %v, responses %v; want SUCCESS", res, err, c.got)
		}
		if n := s.ims.Requests(); n != 0 {
			t.Errorf("token requests = %d, want 0", n)
		}
		if c.got[0]["PhysicalResourceId"] != "tokenrotator/token" {
			t.Errorf("PhysicalResourceId = %v, want it kept", c.got[0]["PhysicalResourceId"])
		}
	})
}

func redact(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	out["access_token"] = "[hidden]"
	return out
}
