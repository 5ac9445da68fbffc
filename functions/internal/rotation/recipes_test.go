package rotation_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
	"github.com/tokenrotator/tokenrotator/infra/repodoc"
	"github.com/tokenrotator/tokenrotator/infra/status"
)

// providerLifetime is what a provider is configured to issue in the test,
// where its recipe asks the user to change the provider's default.
var providerLifetime = map[string]int64{
	"keycloak": 3600, // the recipe: raise the 5-minute default to 1 hour
}

// TestProviderRecipes runs each provider recipe of the rotator's README, as written
// there, through rotation.NewHandler (the Lambda's own wiring) against
// moto_server and the emulator's profile of that provider, which checks the
// provider's documented request and answers in its documented shape. Each
// recipe must mint one token on the first scheduled run, none on the next,
// store a lifetime its Schedule keeps fresh, and leak nothing.
func TestProviderRecipes(t *testing.T) {
	recipes := readmeRecipes(t)
	if len(recipes) < 8 {
		t.Fatalf("%s has %d provider recipes, want at least 8", repodoc.Rotator, len(recipes))
	}
	moto := motoserver.ForTest(t)
	sm := secretsmanager.NewFromConfig(moto.AWSConfig())
	for _, rc := range recipes {
		if rc.settings["TOKEN_AUTH"] == "private_key_jwt" {
			continue // TestPrivateKeyJWTRecipes runs them, with a key
		}
		t.Run(rc.name, func(t *testing.T) {
			p := newRecipeRig(t, moto, sm, rc, nil)
			res, err := p.run(scheduled)
			if err != nil || !res.Rotated {
				t.Fatalf("first scheduled run = %+v, %v; want a rotation", res, err)
			}
			req, _ := p.ims.LastRequest()
			p.checkRequest(req)

			stored := p.stored()
			life := stored.Expiry.Sub(stored.IssuedAt)
			if want := p.wantLifetime(); life < want-2*time.Second || life > want+2*time.Second {
				t.Errorf("stored lifetime = %s, want the provider's %s", life, want)
			}
			if stored.ClientID != clientID || stored.Scope != rc.settings["SCOPE"] || stored.TokenType != "bearer" {
				t.Errorf("stored = %v, want a bearer token for %s with scope %q", stored, clientID, rc.settings["SCOPE"])
			}
			wantParams := ""
			if v, err := url.ParseQuery(rc.settings["TOKEN_PARAMS"]); err == nil {
				wantParams = v.Encode()
			}
			if stored.TokenParams != wantParams {
				t.Errorf("stored token_params = %q, want %q", stored.TokenParams, wantParams)
			}
			checkSchedule(t, rc, life)

			if res, err := p.run(scheduled); err != nil || res.Rotated {
				t.Errorf("second scheduled run = %+v, %v; want nothing to do", res, err)
			}
			if n := p.ims.Requests(); n != 1 {
				t.Errorf("token requests = %d, want 1", n)
			}
			out, _ := json.Marshal(res)
			p.noLeak(string(out))
		})
	}
}

// TestAuth0RecipeWithoutAudience shows the failure the Auth0 recipe warns
// of: without TOKEN_PARAMS the provider refuses, and the error says why.
func TestAuth0RecipeWithoutAudience(t *testing.T) {
	moto := motoserver.ForTest(t)
	sm := secretsmanager.NewFromConfig(moto.AWSConfig())
	for _, rc := range readmeRecipes(t) {
		if rc.name != "auth0" {
			continue
		}
		p := newRecipeRig(t, moto, sm, rc, map[string]string{"TOKEN_PARAMS": ""})
		_, err := p.run(scheduled)
		if err == nil || !strings.Contains(err.Error(), "HTTP 403: access_denied (No audience parameter was provided") {
			t.Errorf("run without audience: error = %v, want Auth0's access_denied naming the audience", err)
		}
		p.noLeak(errString(err))
		return
	}
	t.Fatalf("%s has no auth0 recipe", repodoc.Rotator)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// recipeRig is one recipe wired as the Lambda wires it.
type recipeRig struct {
	*stack
	rc      recipe
	profile imsemu.Profile
	handler func(context.Context, json.RawMessage) (rotation.Result, error)
	tokenID string
	// env is the environment the handler was built with.
	env map[string]string
}

// newRecipeRig starts the recipe's provider emulator, creates its two secrets
// in moto and builds the handler from the recipe's settings, with the
// TOKEN_URL's scheme and host pointed at the emulator and override applied.
func newRecipeRig(t *testing.T, moto *motoserver.Server, sm *secretsmanager.Client, rc recipe, override map[string]string) *recipeRig {
	t.Helper()
	return newRecipeRigFor(t, moto, sm, rc, override, imsemu.Client{Secrets: []string{sentinelSecret}},
		`{"client_id":"`+clientID+`","client_secret":"`+sentinelSecret+`"}`, nil)
}

// recipeProfile is the emulator profile of recipe name: the profile of
// that name, else the longest whose name and a hyphen begin it
// (okta-private-key-jwt runs against okta).
func recipeProfile(name string) (imsemu.Profile, bool) {
	if p, ok := imsemu.ProfileNamed(name); ok {
		return p, true
	}
	var best imsemu.Profile
	for _, p := range imsemu.Profiles() {
		if strings.HasPrefix(name, p.Name+"-") && len(p.Name) > len(best.Name) {
			best = p
		}
	}
	return best, best.Name != ""
}

// newRecipeRigFor is newRecipeRig with client registered at the emulator,
// the credentials secret holding creds, and the emulator behind wrap when
// not nil.
func newRecipeRigFor(t *testing.T, moto *motoserver.Server, sm *secretsmanager.Client, rc recipe, override map[string]string,
	client imsemu.Client, creds string, wrap func(http.Handler) http.Handler) *recipeRig {
	t.Helper()
	profile, ok := recipeProfile(rc.name)
	if !ok {
		t.Fatalf("recipe %s names no emulator profile", rc.name)
	}
	ims, err := imsemu.New(imsemu.Config{Profile: profile, ExpiresIn: providerLifetime[profile.Name],
		Clients: map[string]imsemu.Client{clientID: client}})
	if err != nil {
		t.Fatalf("imsemu.New: %v", err)
	}
	var h http.Handler = ims
	if wrap != nil {
		h = wrap(ims)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(ims.Close)

	s := &stack{t: t, sm: sm, ims: ims, logs: &syncbuf.Buffer{}}
	prefix := "recipes/" + strings.ReplaceAll(t.Name(), "/", "-") + "/"
	s.create(prefix+"credentials", aws.String(creds))
	s.create(prefix+"token", nil)

	env := map[string]string{config.EnvCredentialsSecretID: prefix + "credentials", config.EnvTokenSecretID: prefix + "token"}
	for k, v := range rc.settings {
		env[k] = v
	}
	for k, v := range override {
		env[k] = v
	}
	u := rc.settings["TOKEN_URL"]
	if !strings.HasPrefix(u, "https://") {
		t.Fatalf("recipe %s: TOKEN_URL %q is not https", rc.name, u)
	}
	host, path, _ := strings.Cut(strings.TrimPrefix(u, "https://"), "/")
	env[config.EnvTokenURL] = srv.URL + "/" + path
	if aud, ok := strings.CutPrefix(env[config.EnvAssertionAudience], "https://"+host+"/"); ok {
		env[config.EnvAssertionAudience] = srv.URL + "/" + aud // the provider's issuer, on the emulator
	}

	handler := rotation.NewHandler(func(k string) string { return env[k] }, rotation.Setup{
		AWS: moto.AWSConfig(), Logger: slog.New(slog.NewJSONHandler(s.logs, nil)), MetricsOut: io.Discard,
	})
	return &recipeRig{stack: s, rc: rc, profile: profile, handler: handler, tokenID: prefix + "token", env: env}
}

func (p *recipeRig) run(payload string) (rotation.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return p.handler(ctx, json.RawMessage(payload))
}

// stored reads the token secret.
func (p *recipeRig) stored() secretstore.TokenValue {
	p.t.Helper()
	out, err := p.sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(p.tokenID)})
	if err != nil {
		p.t.Fatalf("GetSecretValue: %v", err)
	}
	v, problem := secretstore.ParseToken(aws.ToString(out.SecretString))
	if problem != "" {
		p.t.Fatalf("stored value: %s", problem)
	}
	return v
}

// wantLifetime is the lifetime the recipe's provider gives: TOKEN_LIFETIME
// where the recipe sets it, else the emulator's.
func (p *recipeRig) wantLifetime() time.Duration {
	if v := p.rc.settings["TOKEN_LIFETIME"]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			p.t.Fatalf("recipe %s: TOKEN_LIFETIME %q: %v", p.rc.name, v, err)
		}
		return d
	}
	if n := providerLifetime[p.rc.name]; n > 0 {
		return time.Duration(n) * time.Second
	}
	return time.Duration(p.profile.ExpiresIn) * time.Second
}

// checkRequest holds the request the provider received to the recipe: the
// scope, each TOKEN_PARAMS field, and the client authentication.
func (p *recipeRig) checkRequest(req imsemu.Request) {
	p.t.Helper()
	if got := req.Form.Get("scope"); got != p.rc.settings["SCOPE"] {
		p.t.Errorf("request scope = %q, want %q", got, p.rc.settings["SCOPE"])
	}
	params, _ := url.ParseQuery(p.rc.settings["TOKEN_PARAMS"])
	for k, vs := range params {
		if got := req.Form[k]; strings.Join(got, "\x00") != strings.Join(vs, "\x00") {
			p.t.Errorf("request %s = %q, want %q", k, got, vs)
		}
	}
	basic, pkjwt := p.rc.settings["TOKEN_AUTH"] == "basic", p.rc.settings["TOKEN_AUTH"] == "private_key_jwt"
	if req.BasicAuth != basic || req.SecretInForm == (basic || pkjwt) || req.AssertionInForm != pkjwt {
		p.t.Errorf("request Basic auth = %v, secret in form = %v; want TOKEN_AUTH=%s", req.BasicAuth, req.SecretInForm, p.rc.settings["TOKEN_AUTH"])
	}
}

// checkSchedule holds the recipe's Schedule to the token's lifetime: every
// scheduled run finds the token old enough to replace, and replaces it, up
// to a minute late, while it still has more than the consumers' margin left.
func checkSchedule(t *testing.T, rc recipe, life time.Duration) {
	t.Helper()
	every, err := status.ParseRate(rc.settings["Schedule"])
	if err != nil {
		t.Fatalf("recipe %s: %v", rc.name, err)
	}
	if age := rotation.RefreshAge(life, config.DefaultMinTokenAge); every < age {
		t.Errorf("Schedule %s: a run finds a %s token replaceable only from %s on", rc.settings["Schedule"], life, age)
	}
	if left := life - every - tickLate; left <= consumerMargin(life) {
		t.Errorf("Schedule %s: a %s token has %s left when a late run replaces it, not more than the consumers' %s margin",
			rc.settings["Schedule"], life, left, consumerMargin(life))
	}
}
