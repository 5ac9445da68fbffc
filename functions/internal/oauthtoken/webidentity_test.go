package oauthtoken

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// sentinelSignature is the signature part of every web identity JWT the
// tests hand out: it must show nowhere but in the requests.
const sentinelSignature = "SENTINEL-sts-signature-5b1d"

// stsTokens hands out a new JWT per call, as STS does, each with its own
// jti and the sentinel signature, and counts the calls.
type stsTokens struct {
	mu    sync.Mutex
	given []string
	err   error
}

func (s *stsTokens) token(context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return "", s.err
	}
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	jwt := enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "sts-1"}) + "." +
		enc(map[string]any{"iss": "https://abc123.tokens.sts.global.api.aws", "sub": "arn:aws:iam::123456789012:role/rotator",
			"aud": "api://AzureADTokenExchange", "exp": int64(1790000000), "jti": fmt.Sprintf("jti-%d", len(s.given))}) +
		"." + sentinelSignature + fmt.Sprint(len(s.given))
	s.given = append(s.given, jwt)
	return jwt, nil
}

func TestWebIdentityAuthSendsAFreshTokenPerAttempt(t *testing.T) {
	src := &stsTokens{}
	var logs bytes.Buffer
	h := newHarness(t, Config{}, jsonAnswer(503, `{"error":"temporarily_unavailable"}`), ok)
	h.f.cfg.Auth = WebIdentityAuth{Token: src.token, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}
	tok, err := h.f.Fetch(context.Background(), Credentials{ClientID: "client-1"})
	if err != nil || tok.Attempts != 2 {
		t.Fatalf("Fetch() = %v after %d attempts, %v; want a token on the second attempt", tok, tok.Attempts, err)
	}
	if len(src.given) != 2 || src.given[0] == src.given[1] {
		t.Fatalf("tokens fetched = %d, want a new one for each of the 2 attempts", len(src.given))
	}
	for i, raw := range h.ep.forms {
		form, _ := url.ParseQuery(raw)
		if form.Get("client_assertion") != src.given[i] || form.Get("client_assertion_type") != AssertionType ||
			form.Has("client_secret") || form.Get("client_id") != "client-1" {
			t.Errorf("request %d form = %v, want client_id, the attempt's own JWT as client_assertion and no client_secret", i, form)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log lines = %d, want one per token fetched:\n%s", len(lines), logs.String())
	}
	var line map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"level": "INFO", "msg": "web identity token fetched", "iss": "https://abc123.tokens.sts.global.api.aws",
		"sub": "arn:aws:iam::123456789012:role/rotator", "aud": "api://AzureADTokenExchange", "exp": "2026-09-21T14:13:20Z"}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("log line %s = %v, want %v", k, line[k], v)
		}
	}
	if strings.Contains(logs.String()+h.logs.String(), sentinelSignature) || strings.Contains(logs.String(), "jti") {
		t.Errorf("the logs show a signature or more than iss, sub, aud and exp:\n%s%s", logs.String(), h.logs.String())
	}
}

func TestWebIdentityAuthRefusals(t *testing.T) {
	tests := []struct {
		name  string
		auth  WebIdentityAuth
		creds Credentials
		want  string
	}{
		{"a client secret too", WebIdentityAuth{Token: (&stsTokens{}).token}, goodCreds,
			"aws_web_identity sends no client secret, yet one is set"},
		{"no client id", WebIdentityAuth{Token: (&stsTokens{}).token}, Credentials{}, "client_id is required"},
		{"no source", WebIdentityAuth{}, Credentials{ClientID: "client-1"}, "no web identity token source is configured"},
		{"STS fails", WebIdentityAuth{Token: (&stsTokens{err: errors.New("api error ServiceUnavailable")}).token},
			Credentials{ClientID: "client-1"}, "fetching the web identity token: api error ServiceUnavailable"},
		{"not a JWT", WebIdentityAuth{Token: func(context.Context) (string, error) { return sentinelSignature, nil }},
			Credentials{ClientID: "client-1"}, "the web identity token: is not a signed JWT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{}, ok)
			h.f.cfg.Auth = tt.auth
			_, err := h.f.Fetch(context.Background(), tt.creds)
			if err == nil || !strings.Contains(err.Error(), "token request not sent: "+tt.want) {
				t.Fatalf("Fetch() error = %v, want %q", err, tt.want)
			}
			if n := h.ep.calls.Load(); n != 0 {
				t.Errorf("requests = %d, want none", n)
			}
			if strings.Contains(err.Error(), sentinelSignature) {
				t.Errorf("error %q shows the token", err)
			}
			noLeak(t, err.Error(), h.logs.String())
		})
	}
}

func TestWebIdentityAuthScrubsTheTokenFromAnswers(t *testing.T) {
	show := func(_, body string) string {
		form, _ := url.ParseQuery(body)
		return "bad assertion " + form.Get("client_assertion")
	}
	h := newHarness(t, Config{}, echo(400, show))
	h.f.cfg.Auth = WebIdentityAuth{Token: (&stsTokens{}).token, Logger: h.f.cfg.Logger}
	_, err := h.f.Fetch(context.Background(), Credentials{ClientID: "client-1"})
	if err == nil || !strings.Contains(err.Error(), "bad assertion "+redacted) {
		t.Fatalf("Fetch() error = %v, want the refusal with the token redacted", err)
	}
	if strings.Contains(err.Error()+h.logs.String(), sentinelSignature) {
		t.Errorf("the token's signature shows in the error %q or the logs %q", err, h.logs.String())
	}
}
