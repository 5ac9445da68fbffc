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
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

// assertionTap sits in front of the emulator: it records each
// client_assertion sent. (The faults of private_key_jwt, a replayed one
// among them, are cases of the fault matrix.)
type assertionTap struct {
	next http.Handler
	mu   sync.Mutex
	seen []string
}

func (a *assertionTap) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	a.mu.Lock()
	if jwt := form.Get("client_assertion"); jwt != "" {
		a.seen = append(a.seen, jwt)
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

func newPKJWTRig(t *testing.T, spec types.KeySpec, creds string, env map[string]string) *pkjwtRig {
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
	handler := rotation.NewHandler(func(k string) string { return e[k] }, rotation.Setup{
		AWS: moto.AWSConfig(), Logger: slog.New(slog.NewJSONHandler(s.logs, nil)), MetricsOut: io.Discard,
	})
	return &pkjwtRig{stack: s, tap: tap, handler: handler, tokenID: "pkjwt/token"}
}

func (p *pkjwtRig) run(payload string) (rotation.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return p.handler(ctx, json.RawMessage(payload))
}

// current is the token secret's AWSCURRENT version id ("" when unreadable).
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
			p := newPKJWTRig(t, tt.spec, pkjwtCreds, tt.env)
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
