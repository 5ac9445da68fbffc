package oauthtoken

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	sentinelSecret = "SENTINEL-client-secret-7f3a"
	sentinelToken  = "SENTINEL-access-token-c91e"
)

var goodCreds = Credentials{ClientID: "client-1", ClientSecret: sentinelSecret}

// endpoint is a token endpoint whose answers the test scripts, one per request.
type endpoint struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter, r *http.Request) // the last one repeats
	calls   atomic.Int32
	forms   []string
	auth    []string
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(e.calls.Add(1))
	_ = r.ParseForm()
	e.mu.Lock()
	e.forms = append(e.forms, r.PostForm.Encode())
	e.auth = append(e.auth, r.Header.Get("Authorization"))
	a := e.answers[min(n, len(e.answers))-1]
	e.mu.Unlock()
	w.Header().Set("X-Debug-Id", fmt.Sprintf("debug-%d", n))
	a(w, r)
}

func jsonAnswer(status int, body string, headers ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

var ok = jsonAnswer(200, `{"access_token":"`+sentinelToken+`","token_type":"bearer","expires_in":86399}`)

// harness starts the endpoint and a Fetcher whose sleeps are recorded, not slept.
type harness struct {
	ep     *endpoint
	f      *Fetcher
	sleeps []time.Duration
	logs   bytes.Buffer
}

func newHarness(t *testing.T, cfg Config, answers ...func(http.ResponseWriter, *http.Request)) *harness {
	t.Helper()
	h := &harness{ep: &endpoint{answers: answers}}
	srv := httptest.NewServer(h.ep)
	t.Cleanup(srv.Close)
	if cfg.TokenURL == "" {
		cfg.TokenURL = srv.URL + "/ims/token/v3"
	}
	if cfg.Scope == "" {
		cfg.Scope = "openid,AdobeID,read_organizations"
	}
	cfg.Sleep = func(_ context.Context, d time.Duration) error { h.sleeps = append(h.sleeps, d); return nil }
	cfg.Logger = slog.New(slog.NewJSONHandler(&h.logs, nil))
	h.f = New(cfg)
	return h
}

// noLeak fails the test when any text holds a sentinel.
func noLeak(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, sentinelSecret) || strings.Contains(s, sentinelToken) {
			t.Errorf("secret material leaked in %q", s)
		}
	}
}

func TestFetchSendsTheIMSRequest(t *testing.T) {
	h := newHarness(t, Config{}, ok)
	tok, err := h.f.Fetch(context.Background(), goodCreds)
	if err != nil {
		t.Fatalf("Fetch() error = %v", err)
	}
	if tok.AccessToken != sentinelToken || tok.TokenType != "bearer" || tok.DebugID != "debug-1" {
		t.Errorf("Fetch() = %v (debug id %q), want the endpoint's token", tok, tok.DebugID)
	}
	if life := tok.Expiry.Sub(tok.IssuedAt); life != 86399*time.Second {
		t.Errorf("Expiry - IssuedAt = %v, want 86399s", life)
	}
	want := "client_id=client-1&client_secret=" + sentinelSecret + "&grant_type=client_credentials&scope=openid%2CAdobeID%2Cread_organizations"
	if got := h.ep.forms[0]; got != want {
		t.Errorf("form = %q, want %q", got, want)
	}
	if got := h.ep.auth[0]; got != "" {
		t.Errorf("Authorization header = %q, want none (credentials go in the body)", got)
	}
	noLeak(t, fmt.Sprint(tok), fmt.Sprintf("%+v %#v %s", tok, tok, tok), h.logs.String())
}

func TestFetchBasicAuthKeepsTheSecretOutOfTheBody(t *testing.T) {
	h := newHarness(t, Config{Auth: BasicAuth{}}, ok)
	if _, err := h.f.Fetch(context.Background(), goodCreds); err != nil {
		t.Fatalf("Fetch() error = %v", err)
	}
	if strings.Contains(h.ep.forms[0], "client_secret") || !strings.HasPrefix(h.ep.auth[0], "Basic ") {
		t.Errorf("form = %q, Authorization = %q; want the credentials in a Basic header only", h.ep.forms[0], h.ep.auth[0])
	}
}

func TestFetchRetriesWhatIsWorthRetrying(t *testing.T) {
	unavailable := jsonAnswer(503, `{"error":"temporarily_unavailable"}`, "Retry-After", "2")
	tests := []struct {
		name      string
		answers   []func(http.ResponseWriter, *http.Request)
		wantCalls int32
		wantSleep []time.Duration // exact, for Retry-After; nil checks only the count
		wantErr   string
	}{
		{"two 503s with Retry-After, then a token", []func(http.ResponseWriter, *http.Request){unavailable, unavailable, ok}, 3, []time.Duration{2 * time.Second, 2 * time.Second}, ""},
		{"429 then a token", []func(http.ResponseWriter, *http.Request){jsonAnswer(429, `{}`, "Retry-After", "1"), ok}, 2, []time.Duration{time.Second}, ""},
		{"500 without Retry-After, then a token", []func(http.ResponseWriter, *http.Request){jsonAnswer(500, `oops`), ok}, 2, nil, ""},
		{"invalid_client is not retried", []func(http.ResponseWriter, *http.Request){jsonAnswer(400, `{"error":"invalid_client","error_description":"invalid client_secret parameter"}`)}, 1, nil, "HTTP 400: invalid_client (invalid client_secret parameter); X-Debug-Id debug-1"},
		{"invalid_scope is not retried", []func(http.ResponseWriter, *http.Request){jsonAnswer(400, `{"error":"invalid_scope"}`)}, 1, nil, "invalid_scope"},
		{"503 forever gives up after the attempts", []func(http.ResponseWriter, *http.Request){jsonAnswer(503, `{}`)}, DefaultMaxAttempts, nil, "gave up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{}, tt.answers...)
			tok, err := h.f.Fetch(context.Background(), goodCreds)
			if got := h.ep.calls.Load(); got != tt.wantCalls {
				t.Errorf("requests = %d, want %d", got, tt.wantCalls)
			}
			var e *Error
			switch {
			case err == nil && tok.Attempts != int(tt.wantCalls):
				t.Errorf("Token.Attempts = %d, want %d", tok.Attempts, tt.wantCalls)
			case errors.As(err, &e) && e.Attempts != int(tt.wantCalls):
				t.Errorf("Error.Attempts = %d, want %d", e.Attempts, tt.wantCalls)
			}
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Fetch() error = %v, want nil", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Fetch() error = %v, want it to contain %q", err, tt.wantErr)
			}
			if tt.wantSleep != nil && fmt.Sprint(h.sleeps) != fmt.Sprint(tt.wantSleep) {
				t.Errorf("sleeps = %v, want %v", h.sleeps, tt.wantSleep)
			}
			if len(h.sleeps) != int(tt.wantCalls)-1 && tt.wantErr == "" {
				t.Errorf("sleeps = %v, want one per retry", h.sleeps)
			}
			if err != nil {
				noLeak(t, err.Error())
			}
			noLeak(t, h.logs.String())
		})
	}
}

func TestFetchStopsBeforeTheDeadline(t *testing.T) {
	ep := &endpoint{answers: []func(http.ResponseWriter, *http.Request){jsonAnswer(503, `{}`, "Retry-After", "1")}}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	f := New(Config{TokenURL: srv.URL, Reserve: 2 * time.Second, MaxAttempts: 100, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Second)
	defer cancel()
	start := time.Now()
	_, err := f.Fetch(ctx, goodCreds)
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("Fetch() error = %v, want one saying the deadline leaves no room", err)
	}
	if ctx.Err() != nil || took > 5*time.Second {
		t.Errorf("Fetch() took %v, want it back with at least the 2s reserve left of 6s", took)
	}
	if n := ep.calls.Load(); n < 2 {
		t.Errorf("requests = %d, want the retries that fit", n)
	}
}

func TestFetchRefusesMalformedResponses(t *testing.T) {
	big := `{"access_token":"` + strings.Repeat("x", 3<<20) + `","token_type":"bearer","expires_in":86399}`
	tests := []struct {
		name, body, want string
		status           int
		contentType      string
	}{
		{"not JSON", `<html>gateway</html>`, "token response refused", 200, "application/json"},
		{"no access_token", `{"token_type":"bearer","expires_in":86399}`, "missing access_token", 200, "application/json"},
		{"empty access_token", `{"access_token":"  ","token_type":"bearer","expires_in":86399}`, "access_token is empty", 200, "application/json"},
		{"error field in a 200", `{"error":"invalid_client","access_token":"` + sentinelToken + `"}`, "carries an OAuth error: HTTP 200: invalid_client", 200, "application/json"},
		{"expires_in missing", `{"access_token":"` + sentinelToken + `","token_type":"bearer"}`, "set TOKEN_LIFETIME", 200, "application/json"},
		{"expires_in zero", `{"access_token":"` + sentinelToken + `","token_type":"bearer","expires_in":0}`, "expires_in is 0", 200, "application/json"},
		{"expires_in negative", `{"access_token":"` + sentinelToken + `","token_type":"bearer","expires_in":-5}`, "expires_in is -5", 200, "application/json"},
		{"expires_in absurd", `{"access_token":"` + sentinelToken + `","token_type":"bearer","expires_in":99999999999}`, "more than the", 200, "application/json"},
		{"expires_in a fraction", `{"access_token":"` + sentinelToken + `","token_type":"bearer","expires_in":1.5}`, "cannot parse json", 200, "application/json"},
		{"token_type mac", `{"access_token":"` + sentinelToken + `","token_type":"mac","expires_in":86399}`, `token_type is "mac"`, 200, "application/json"},
		{"token_type missing", `{"access_token":"` + sentinelToken + `","expires_in":86399}`, "token_type is missing", 200, "application/json"},
		{"expires_in 10 minutes", `{"access_token":"` + sentinelToken + `","token_type":"bearer","expires_in":600}`, "less than the 20m0s", 200, "application/json"},
		{"form, expires_in not a number", "access_token=" + sentinelToken + "&token_type=bearer&expires_in=soon", "expires_in is not a number", 200, "application/x-www-form-urlencoded"},
		{"form, expires_in a fraction", "access_token=" + sentinelToken + "&token_type=bearer&expires_in=3600.5", "expires_in is not a number", 200, "application/x-www-form-urlencoded"},
		{"form, expires_in 10 minutes", "access_token=" + sentinelToken + "&token_type=bearer&expires_in=600", "less than the 20m0s", 200, "application/x-www-form-urlencoded"},
		{"body of several MB", big, "larger than", 200, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Config{}, answer(tt.status, tt.contentType, tt.body))
			tok, err := h.f.Fetch(context.Background(), goodCreds)
			if err == nil {
				t.Fatalf("Fetch() = %v, want an error containing %q", tok, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Fetch() error = %q, want it to contain %q", err, tt.want)
			}
			if n := h.ep.calls.Load(); n != 1 {
				t.Errorf("requests = %d, want 1 (a malformed answer is not retried)", n)
			}
			var e *Error
			if !errors.As(err, &e) || e.DebugID != "debug-1" {
				t.Errorf("Fetch() error = %#v, want an *Error with X-Debug-Id debug-1", err)
			}
			noLeak(t, err.Error(), h.logs.String())
		})
	}
}

func TestFetchNeverFollowsARedirect(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	for _, code := range []int{301, 302, 307, 308} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			h := newHarness(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, other.URL+"/steal", code)
			})
			_, err := h.f.Fetch(context.Background(), goodCreds)
			if err == nil || !strings.Contains(err.Error(), "redirect") {
				t.Fatalf("Fetch() error = %v, want a refused redirect", err)
			}
			if n := elsewhere.Load(); n != 0 {
				t.Errorf("requests to the redirect target = %d, want 0", n)
			}
			noLeak(t, err.Error())
		})
	}
}

func TestFetchRefusesAnUntrustedCertificate(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(ok))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	f := New(Config{TokenURL: srv.URL, Logger: slog.New(slog.DiscardHandler), Sleep: func(context.Context, time.Duration) error { return nil }})
	_, err := f.Fetch(context.Background(), goodCreds)
	if err == nil || !strings.Contains(err.Error(), "TLS certificate is not trusted") {
		t.Fatalf("Fetch() error = %v, want an untrusted certificate", err)
	}
	var e *Error
	if errors.As(err, &e) && e.Retryable {
		t.Errorf("untrusted certificate is retryable, want it final")
	}
}

func TestFetchRetriesAConnectionReset(t *testing.T) {
	h := newHarness(t, Config{}, func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}, ok)
	if _, err := h.f.Fetch(context.Background(), goodCreds); err != nil {
		t.Fatalf("Fetch() error = %v, want a token after one retry", err)
	}
	if n := h.ep.calls.Load(); n != 2 {
		t.Errorf("requests = %d, want 2", n)
	}
}

func TestFetchTimesOutAHangingAttempt(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	h := newHarness(t, Config{AttemptTimeout: 1500 * time.Millisecond}, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}, ok)
	if _, err := h.f.Fetch(context.Background(), goodCreds); err != nil {
		t.Fatalf("Fetch() error = %v, want a token after the hung attempt timed out", err)
	}
	if !strings.Contains(h.logs.String(), "timed out") {
		t.Errorf("logs = %s, want the timed-out attempt logged", h.logs.String())
	}
}

func TestFetchRequiresBothCredentials(t *testing.T) {
	h := newHarness(t, Config{}, ok)
	if _, err := h.f.Fetch(context.Background(), Credentials{ClientID: "x"}); err == nil {
		t.Fatal("Fetch() error = nil, want one for the missing secret")
	}
	if n := h.ep.calls.Load(); n != 0 {
		t.Errorf("requests = %d, want 0", n)
	}
}

func TestRedaction(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	tok := Token{AccessToken: sentinelToken, TokenType: "bearer"}
	log.Info("x", "creds", goodCreds, "token", tok)
	noLeak(t, logs.String(),
		fmt.Sprint(goodCreds), fmt.Sprintf("%v %+v %#v %s %q", goodCreds, goodCreds, goodCreds, goodCreds, goodCreds),
		fmt.Sprintf("%v %+v %#v %s %q", tok, tok, tok, tok, tok), fmt.Sprintf("%v", []any{&goodCreds, &tok}))
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0}, {"3", 3 * time.Second}, {"-1", 0}, {"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"999999999", 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := RetryAfter(tt.in, now); got != tt.want {
			t.Errorf("RetryAfter(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestFetchSendsASpaceSeparatedScopeAsIs(t *testing.T) {
	h := newHarness(t, Config{Scope: "openid email"}, ok)
	if _, err := h.f.Fetch(context.Background(), goodCreds); err != nil {
		t.Fatalf("Fetch() error = %v", err)
	}
	if got := h.ep.forms[0]; !strings.HasSuffix(got, "&scope=openid+email") {
		t.Errorf("form = %q, want scope=openid+email", got)
	}
}

// authOf returns BasicAuth when basic is set, else BodyAuth.
func authOf(basic bool) ClientAuth {
	if basic {
		return BasicAuth{}
	}
	return BodyAuth{}
}
