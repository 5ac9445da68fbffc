package rotation_test

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

// assertionTap sits in front of the emulator: it records each
// client_assertion sent, and, when replay is set, sends the first one again
// in place of each later one, as an attacker replaying a captured assertion.
type assertionTap struct {
	next   http.Handler
	mu     sync.Mutex
	seen   []string
	replay bool
}

func (a *assertionTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	a.mu.Lock()
	if jwt := form.Get("client_assertion"); jwt != "" {
		a.seen = append(a.seen, jwt)
		if a.replay && len(a.seen) > 1 {
			form.Set("client_assertion", a.seen[0])
			body = []byte(form.Encode())
		}
	}
	a.mu.Unlock()
	r.Body, r.ContentLength = io.NopCloser(strings.NewReader(string(body))), int64(len(body))
	a.next.ServeHTTP(w, r)
}

// pkjwtRig is a private_key_jwt integration wired as the Lambda wires it:
// a KMS key in moto_server, the Okta emulator with the key's public half
// registered, and rotation.NewHandler.
type pkjwtRig struct {
	*stack
	tap     *assertionTap
	handler func(context.Context, json.RawMessage) (rotation.Result, error)
	tokenID string
}

func newPKJWTRig(t *testing.T, spec types.KeySpec, creds string, env map[string]string, awsCfg func(aws.Config) aws.Config) *pkjwtRig {
	t.Helper()
	moto := motoserver.ForTest(t)
	km := kms.NewFromConfig(moto.AWSConfig())
	key, err := km.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: spec, KeyUsage: types.KeyUsageTypeSignVerify,
		Tags: []types.Tag{{TagKey: aws.String("tokenrotator:stack"), TagValue: aws.String("tokenrotator")}}})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	pubOut, err := km.GetPublicKey(context.Background(), &kms.GetPublicKeyInput{KeyId: key.KeyMetadata.Arn})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(pubOut.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	profile, _ := imsemu.ProfileNamed("okta")
	ims, err := imsemu.New(imsemu.Config{Profile: profile,
		Clients: map[string]imsemu.Client{clientID: {PublicKey: pub, KeyID: "kid-2026", Scopes: []string{"reports.read"}}}})
	if err != nil {
		t.Fatalf("imsemu.New: %v", err)
	}
	tap := &assertionTap{next: ims}
	srv := httptest.NewServer(tap)
	t.Cleanup(srv.Close)
	t.Cleanup(ims.Close)

	s := &stack{t: t, sm: secretsmanager.NewFromConfig(moto.AWSConfig()), ims: ims, logs: &syncbuf.Buffer{}}
	s.create("pkjwt/credentials", aws.String(creds))
	s.create("pkjwt/token", nil)
	e := map[string]string{config.EnvCredentialsSecretID: "pkjwt/credentials", config.EnvTokenSecretID: "pkjwt/token",
		config.EnvTokenURL: srv.URL + profile.Path, config.EnvScope: "reports.read", config.EnvTokenAuth: "private_key_jwt",
		config.EnvSigningKey: aws.ToString(key.KeyMetadata.Arn), config.EnvSigningKeyID: "kid-2026"}
	for k, v := range env {
		e[k] = v
	}
	cfg := moto.AWSConfig()
	if awsCfg != nil {
		cfg = awsCfg(cfg)
	}
	handler := rotation.NewHandler(func(k string) string { return e[k] }, rotation.Setup{
		AWS: cfg, Logger: slog.New(slog.NewJSONHandler(s.logs, nil)), MetricsOut: io.Discard,
	})
	return &pkjwtRig{stack: s, tap: tap, handler: handler, tokenID: "pkjwt/token"}
}

func (p *pkjwtRig) run(payload string) (rotation.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return p.handler(ctx, json.RawMessage(payload))
}

// current returns the token secret's AWSCURRENT version id, "" when it
// has no value.
func (p *pkjwtRig) current() string {
	out, err := p.sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(p.tokenID)})
	if err != nil {
		return ""
	}
	return aws.ToString(out.VersionId)
}

// noAssertion checks that no log line, error or result carries any
// assertion sent, or its signature: the assertion is a credential.
func (p *pkjwtRig) noAssertion(texts ...string) {
	p.t.Helper()
	texts = append(texts, p.logs.String())
	p.tap.mu.Lock()
	defer p.tap.mu.Unlock()
	for _, jwt := range p.tap.seen {
		sig := jwt[strings.LastIndexByte(jwt, '.')+1:]
		for _, text := range texts {
			if strings.Contains(text, sig) {
				p.t.Errorf("an assertion's signature leaked in %q", text)
			}
		}
	}
	p.noLeak(texts...)
}

const pkjwtCreds = `{"client_id":"` + clientID + `"}`

// TestPrivateKeyJWTRecipe: an Okta private_key_jwt integration, its key in
// KMS (moto_server), runs through rotation.NewHandler: the first run mints
// a token with an assertion the emulator verifies against the registered
// key, a forced run signs a new one (a new jti), and nothing carries an
// assertion.
func TestPrivateKeyJWTRecipe(t *testing.T) {
	for _, tt := range []struct {
		name string
		spec types.KeySpec
		env  map[string]string
	}{
		{"RSA RS256", types.KeySpecRsa2048, nil},
		{"RSA PS256", types.KeySpecRsa2048, map[string]string{config.EnvSigningAlg: "PS256"}},
		{"P-256 ES256", types.KeySpecEccNistP256, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPKJWTRig(t, tt.spec, pkjwtCreds, tt.env, nil)
			res, err := p.run(scheduled)
			if err != nil || !res.Rotated {
				t.Fatalf("first run = %+v, %v; want a rotation", res, err)
			}
			if res, err := p.run(`{"force": true}`); err != nil || !res.Rotated {
				t.Fatalf("forced run = %+v, %v; want a rotation with a new assertion", res, err)
			}
			if n := len(p.tap.seen); n != 2 || p.tap.seen[0] == p.tap.seen[1] {
				t.Errorf("assertions sent = %d, want 2 different ones", n)
			}
			if n := len(p.ims.Issued()); n != 2 {
				t.Errorf("tokens issued = %d, want 2", n)
			}
			out, _ := json.Marshal(res)
			p.noAssertion(string(out), errString(err))
		})
	}
}

// TestPrivateKeyJWTFaults: what the user sees when the provider refuses a
// replayed assertion, when the credentials secret holds a client secret
// as well, and when KMS denies kms:Sign. None writes a token, and none
// carries an assertion.
func TestPrivateKeyJWTFaults(t *testing.T) {
	denySign := func(cfg aws.Config) aws.Config {
		cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
			return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("denySign",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if awsmiddleware.GetServiceID(ctx) == "KMS" && awsmiddleware.GetOperationName(ctx) == "Sign" {
						return middleware.InitializeOutput{}, middleware.Metadata{}, &smithy.GenericAPIError{Code: "AccessDeniedException",
							Message: "User: arn:aws:sts::123456789012:assumed-role/rotator/fn is not authorized to perform: kms:Sign"}
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.Before)
		})
		return cfg
	}
	tests := []struct {
		name     string
		creds    string
		awsCfg   func(aws.Config) aws.Config
		replay   bool
		want     string
		requests int
	}{
		{"replayed jti", pkjwtCreds, nil, true,
			"token endpoint refused the request: HTTP 400: invalid_client (client assertion refused: jti was already used)", 2},
		{"key and secret", `{"client_id":"` + clientID + `","client_secret":"` + sentinelSecret + `"}`, nil, false,
			`credentials secret "pkjwt/credentials": holds a "client_secret", but token_auth is private_key_jwt, which sends none: ambiguous`, 0},
		{"KMS AccessDenied on Sign", pkjwtCreds, denySign, false,
			"token request not sent: signing the client assertion (RS256): KMS key", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPKJWTRig(t, types.KeySpecRsa2048, tt.creds, nil, tt.awsCfg)
			p.tap.replay = tt.replay
			payload := scheduled
			if tt.replay {
				if _, err := p.run(scheduled); err != nil {
					t.Fatalf("first run error = %v", err)
				}
				payload = `{"force": true}`
			}
			before := p.current()
			res, err := p.run(payload)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run error = %v, want one with %q", err, tt.want)
			}
			t.Logf("the user sees: %v", err)
			if tt.name == "KMS AccessDenied on Sign" && !strings.Contains(err.Error(), "AccessDeniedException") {
				t.Errorf("run error = %v, want KMS's AccessDeniedException", err)
			}
			if after := p.current(); after != before {
				t.Errorf("AWSCURRENT moved from %q to %q: a failed run wrote", before, after)
			}
			if n := p.ims.Requests(); n != tt.requests {
				t.Errorf("token requests = %d, want %d", n, tt.requests)
			}
			out, _ := json.Marshal(res)
			p.noAssertion(string(out), err.Error())
		})
	}
}
