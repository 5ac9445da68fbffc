package rotation_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/stsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

const webIdentityRole = "arn:aws:iam::123456789012:role/tokenrotator-RotatorFunctionRole-1A2B3C"

// stsEndpoint is an SDK configuration source naming STS's endpoint, as
// AWS_ENDPOINT_URL_STS does: the STS stand-in, while Secrets Manager stays
// on moto_server.
type stsEndpoint string

func (e stsEndpoint) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	return string(e), sdkID == "STS", nil
}

var webIdentityRecipe = regexp.MustCompile("(?s)<!-- web-identity-recipe: ([a-z0-9-]+) -->\\s*```sh\\n(.*?)```")

// webIdentityRig is the README's Entra ID web identity recipe wired as the
// Lambda wires it: moto_server, the STS stand-in as the issuer, the Entra
// emulator with the federated credential (issuer, the role, the audience).
type webIdentityRig struct {
	*pkjwtRig
	sts *stsemu.Server
}

func newWebIdentityRig(t *testing.T, creds string, override map[string]string) *webIdentityRig {
	t.Helper()
	m := webIdentityRecipe.FindStringSubmatch(readme(t))
	if m == nil {
		t.Fatal("the rotator README has no <!-- web-identity-recipe: ... --> block")
	}
	settings := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(m[2]), "\n") {
		k, v, _ := strings.Cut(line, "=")
		settings[k] = v
	}
	st, err := stsemu.New(stsemu.Config{Subject: webIdentityRole})
	if err != nil {
		t.Fatal(err)
	}
	stsSrv := httptest.NewServer(st)
	t.Cleanup(stsSrv.Close)
	profile, _ := imsemu.ProfileNamed(m[1])
	ims, err := imsemu.New(imsemu.Config{Profile: profile, Clients: map[string]imsemu.Client{clientID: {
		Federated: []imsemu.FederatedCredential{{Issuer: stsSrv.URL, Subject: webIdentityRole, Audiences: []string{settings["WEB_IDENTITY_AUDIENCE"]}}}}}})
	if err != nil {
		t.Fatalf("imsemu.New: %v", err)
	}
	tap := &assertionTap{next: ims}
	srv := httptest.NewServer(tap)
	t.Cleanup(srv.Close)
	t.Cleanup(ims.Close)

	moto := motoserver.ForTest(t)
	s := &stack{t: t, sm: secretsmanager.NewFromConfig(moto.AWSConfig()), ims: ims, logs: &syncbuf.Buffer{}}
	s.create("webid/credentials", aws.String(creds))
	s.create("webid/token", nil)
	env := map[string]string{config.EnvCredentialsSecretID: "webid/credentials", config.EnvTokenSecretID: "webid/token"}
	for k, v := range settings {
		env[k] = v
	}
	_, path, _ := strings.Cut(strings.TrimPrefix(settings["TOKEN_URL"], "https://"), "/")
	env[config.EnvTokenURL] = srv.URL + "/" + path
	for k, v := range override {
		env[k] = v
	}
	cfg := moto.AWSConfig()
	cfg.ConfigSources = append(cfg.ConfigSources, stsEndpoint(stsSrv.URL))
	handler := rotation.NewHandler(func(k string) string { return env[k] }, rotation.Setup{
		AWS: cfg, Logger: slog.New(slog.NewJSONHandler(s.logs, nil)), MetricsOut: io.Discard,
	})
	return &webIdentityRig{pkjwtRig: &pkjwtRig{stack: s, tap: tap, handler: handler, tokenID: "webid/token"}, sts: st}
}

// noJWT checks that no log line, error or result carries any JWT STS
// issued, or its signature.
func (w *webIdentityRig) noJWT(texts ...string) {
	w.t.Helper()
	texts = append(texts, w.logs.String())
	for _, jwt := range w.sts.Issued() {
		sig := jwt[strings.LastIndexByte(jwt, '.')+1:]
		for _, text := range texts {
			if strings.Contains(text, sig) {
				w.t.Errorf("a web identity JWT's signature leaked in %q", text)
			}
		}
	}
	w.noAssertion(texts...)
}

// TestWebIdentityRecipe: the README's Entra ID recipe with AWS web identity
// runs through rotation.NewHandler: each token request carries a new STS
// JWT, retries included, which the Entra emulator verifies against the
// stand-in issuer's JWKS; the claims sent are logged, the JWT never.
func TestWebIdentityRecipe(t *testing.T) {
	for _, alg := range []string{"RS256", "ES384"} {
		t.Run(alg, func(t *testing.T) {
			w := newWebIdentityRig(t, pkjwtCreds, map[string]string{config.EnvWebIdentityAlg: alg})
			res, err := w.run(scheduled)
			if err != nil || !res.Rotated {
				t.Fatalf("first run = %+v, %v; want a rotation", res, err)
			}
			if res, err := w.run(scheduled); err != nil || res.Rotated {
				t.Fatalf("second run = %+v, %v; want nothing to do", res, err)
			}
			w.ims.Enqueue(imsemu.Status(http.StatusServiceUnavailable, ""))
			forced, err := w.run(`{"force": true}`)
			if err != nil || !forced.Rotated {
				t.Fatalf("forced run after a 503 = %+v, %v; want a rotation on the retry", forced, err)
			}
			if n := w.sts.Calls(); n != 3 {
				t.Errorf("GetWebIdentityToken calls = %d, want 3: one per token request, the retry's too", n)
			}
			seen := w.tap.seen
			if len(seen) != 3 || seen[1] == seen[2] {
				t.Errorf("assertions sent = %d, want 3, the retry with a JWT of its own", len(seen))
			}
			if n := len(w.ims.Issued()); n != 2 {
				t.Errorf("tokens issued = %d, want 2", n)
			}
			logs := w.logs.String()
			if strings.Count(logs, `"msg":"web identity token fetched"`) != 3 || !strings.Contains(logs, `"sub":"`+webIdentityRole+`"`) ||
				!strings.Contains(logs, `"aud":"api://AzureADTokenExchange"`) {
				t.Errorf("logs = %s\nwant one line per JWT with its sub and aud", logs)
			}
			out, _ := json.Marshal(forced)
			w.noJWT(string(out))
		})
	}
}

// TestWebIdentityFaults: what the user sees when STS is down and when the
// credentials secret holds a client secret as well; neither writes a
// token, sends a token request, or shows a JWT.
func TestWebIdentityFaults(t *testing.T) {
	tests := []struct {
		name, creds, want string
		down              bool
	}{
		{"STS unavailable", pkjwtCreds, `token request not sent: fetching the web identity token: sts:GetWebIdentityToken (audience "api://AzureADTokenExchange", RS256): HTTP 503 ServiceUnavailable: Service is unable to handle request. (after 3 attempts)`, true},
		{"key and secret", `{"client_id":"` + clientID + `","client_secret":"` + sentinelSecret + `"}`,
			`credentials secret "webid/credentials": holds a "client_secret", but token_auth is aws_web_identity, which sends none: ambiguous`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWebIdentityRig(t, tt.creds, nil)
			if tt.down {
				w.sts.SetDown(http.StatusServiceUnavailable)
			}
			before := w.current()
			res, err := w.run(scheduled)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run error = %v, want one with %q", err, tt.want)
			}
			t.Logf("the user sees: %v", err)
			if tt.down && !strings.Contains(err.Error(), "ServiceUnavailable") {
				t.Errorf("run error = %v, want STS's ServiceUnavailable", err)
			}
			if after := w.current(); after != before {
				t.Errorf("AWSCURRENT moved from %q to %q: a failed run wrote", before, after)
			}
			if n := w.ims.Requests(); n != 0 {
				t.Errorf("token requests = %d, want none", n)
			}
			out, _ := json.Marshal(res)
			w.noJWT(string(out), err.Error())
		})
	}
}
