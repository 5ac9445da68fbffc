package adobe_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/clientsecret"
	"github.com/tokenrotator/tokenrotator/functions/internal/clientsecret/adobe"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

const (
	clientID = "mgmt-client"
	sentinel = "SENTINEL-current-client-secret"
	org      = "ORG1@AdobeOrg"
	cred     = "cred-123"
)

// rig is the emulator behind a hook that can replace or spoil answers,
// and a log buffer the tests search for secrets.
type rig struct {
	emu  *imsemu.Server
	ts   *httptest.Server
	logs *strings.Builder
	lmu  sync.Mutex

	mu    sync.Mutex
	hook  func(w http.ResponseWriter, r *http.Request) bool // true: answered
	calls map[string]int                                    // method -> management calls
}

func newRig(t *testing.T) *rig {
	t.Helper()
	emu, err := imsemu.New(imsemu.Config{Clients: map[string]imsemu.Client{
		clientID: {Secrets: []string{sentinel}, OrgID: org, CredentialID: cred},
	}})
	if err != nil {
		t.Fatalf("imsemu.New: %v", err)
	}
	r := &rig{emu: emu, logs: &strings.Builder{}, calls: map[string]int{}}
	r.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		hook := r.hook
		if strings.HasPrefix(req.URL.Path, imsemu.ManagementPrefix) {
			r.calls[req.Method]++
		}
		r.mu.Unlock()
		if hook != nil && strings.HasPrefix(req.URL.Path, imsemu.ManagementPrefix) && hook(w, req) {
			return
		}
		emu.ServeHTTP(w, req)
	}))
	t.Cleanup(func() { emu.Close(); r.ts.Close() })
	return r
}

func (r *rig) Write(p []byte) (int, error) {
	r.lmu.Lock()
	defer r.lmu.Unlock()
	return r.logs.Write(p)
}

func (r *rig) setHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hook = h
}

func (r *rig) count(method string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[method]
}

func (r *rig) client(t *testing.T) *adobe.Client {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(r, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := adobe.New(adobe.Config{
		BaseURL: r.ts.URL, OrgID: org, CredentialID: cred,
		Credentials: oauthtoken.Credentials{ClientID: clientID, ClientSecret: sentinel},
		Token:       oauthtoken.Config{TokenURL: r.ts.URL + imsemu.TokenPath},
		Sleep:       func(context.Context, time.Duration) error { return nil },
		Logger:      logger,
	})
	if err != nil {
		t.Fatalf("adobe.New() error = %v", err)
	}
	return c
}

// secretsShown fails the test when out holds a secret or a token the
// emulator issued.
func (r *rig) secretsShown(t *testing.T, what, out string, extra ...string) {
	t.Helper()
	for _, s := range append([]string{sentinel}, extra...) {
		if s != "" && strings.Contains(out, s) {
			t.Errorf("%s shows a client secret", what)
		}
	}
	for _, tok := range r.emu.Issued() {
		if strings.Contains(out, tok.AccessToken) {
			t.Errorf("%s shows the management token", what)
		}
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestListAddRemove(t *testing.T) {
	r := newRig(t)
	c := r.client(t)
	before := time.Now().Add(-time.Second)

	got, err := c.List(ctx(t))
	if err != nil {
		t.Fatalf("List() error = %v", err)
	}
	if len(got) != 1 || got[0].UUID == "" || got[0].CreatedAt.Before(before) || got[0].LastUsedAt.Before(before) || !got[0].ExpiresAt.IsZero() {
		t.Fatalf("List() = %+v, want one secret created and last used (the management token) just now, not expiring", got)
	}
	old := got[0]

	added, err := c.Add(ctx(t))
	if err != nil {
		t.Fatalf("Add() error = %v", err)
	}
	if added.Value == "" || added.UUID == "" || added.UUID == old.UUID {
		t.Fatalf("Add() = %v, want a new uuid and value", added)
	}
	f := oauthtoken.New(oauthtoken.Config{TokenURL: r.ts.URL + imsemu.TokenPath, Scope: "openid"})
	if _, err := f.Fetch(ctx(t), oauthtoken.Credentials{ClientID: clientID, ClientSecret: added.Value}); err != nil {
		t.Fatalf("minting with the added secret: %v", err)
	}

	got, err = c.List(ctx(t))
	if err != nil || len(got) != 2 || got[1].UUID != added.UUID || got[1].LastUsedAt.IsZero() {
		t.Fatalf("List() after Add = %+v, %v; want the added secret second, used once", got, err)
	}
	if err := c.Remove(ctx(t), old.UUID); err != nil {
		t.Fatalf("Remove(old) error = %v", err)
	}
	got, err = c.List(ctx(t))
	if err != nil || len(got) != 1 || got[0].UUID != added.UUID {
		t.Fatalf("List() after Remove = %+v, %v; want only the added secret", got, err)
	}
	if n := len(r.emu.Issued()); n != 2 {
		t.Errorf("tokens issued = %d, want 2 (one management token reused for every call, one test token)", n)
	}
	r.secretsShown(t, "the logs", r.logs.String(), added.Value)
	if !strings.Contains(r.logs.String(), added.UUID) {
		t.Errorf("logs = %q, want a line naming the added uuid", r.logs.String())
	}
}

// dropAfter lets the emulator carry the request out, then closes the
// connection without an answer: a lost answer.
func dropAfter(emu *imsemu.Server) func(w http.ResponseWriter, r *http.Request) bool {
	return func(w http.ResponseWriter, r *http.Request) bool {
		emu.ServeHTTP(httptest.NewRecorder(), r)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return true
	}
}

func TestAddLostAnswerIsNotRetried(t *testing.T) {
	r := newRig(t)
	c := r.client(t)
	cur, err := c.List(ctx(t))
	if err != nil {
		t.Fatalf("List() error = %v", err)
	}
	r.setHook(func(w http.ResponseWriter, req *http.Request) bool {
		if req.Method == http.MethodPost {
			return dropAfter(r.emu)(w, req)
		}
		return false
	})
	_, err = c.Add(ctx(t))
	if !errors.Is(err, clientsecret.ErrAddUnknown) {
		t.Fatalf("Add() with a lost answer: error = %v, want ErrAddUnknown", err)
	}
	if n := r.count(http.MethodPost); n != 1 {
		t.Errorf("POST sent %d times, want once", n)
	}
	r.secretsShown(t, "Add()'s error", err.Error())

	// The caller lists again: Plan finds the orphan and removes it.
	r.setHook(nil)
	listed, err := c.List(ctx(t))
	if err != nil || len(listed) != 2 {
		t.Fatalf("List() after a lost add = %+v, %v; want the orphan listed", listed, err)
	}
	plan, err := clientsecret.Plan(clientsecret.CreateInput{Secrets: listed, Current: cur[0].UUID})
	if err != nil || len(plan.Remove) != 1 || !plan.Add {
		t.Fatalf("Plan() = %+v, %v; want the orphan removed and one added", plan, err)
	}
	if err := c.Remove(ctx(t), plan.Remove[0]); err != nil {
		t.Fatalf("Remove(orphan) error = %v", err)
	}
	if _, err := c.Add(ctx(t)); err != nil {
		t.Fatalf("Add() after removing the orphan: %v", err)
	}
	if got, _ := r.emu.Secrets(clientID); len(got) != 2 {
		t.Errorf("secrets at the emulator = %d, want 2", len(got))
	}
}

func TestAddFailures(t *testing.T) {
	cases := []struct {
		name        string
		status      int
		body        string
		wantUnknown bool
	}{
		{"5xx: maybe carried out", http.StatusServiceUnavailable, `{"error_code":"unavailable"}`, true},
		{"429: throttled, not carried out", http.StatusTooManyRequests, `{"error_code":"throttled"}`, false},
		{"400: refused", http.StatusBadRequest, `{"error_code":"max_secrets_reached","message":"at most 2"}`, false},
		{"201 without a secret", http.StatusCreated, `{"uuid":"u"}`, true},
		{"201 not JSON, quoting a secret", http.StatusCreated, `client_secret=SENTINEL-new-value`, true},
		{"200 instead of 201", http.StatusOK, `{"client_secret":"SENTINEL-new-value","uuid":"u"}`, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			c := r.client(t)
			r.setHook(func(w http.ResponseWriter, req *http.Request) bool {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
				return true
			})
			_, err := c.Add(ctx(t))
			if err == nil {
				t.Fatal("Add() error = nil, want one")
			}
			if got := errors.Is(err, clientsecret.ErrAddUnknown); got != tc.wantUnknown {
				t.Errorf("Add() error = %v; ErrAddUnknown %v, want %v", err, got, tc.wantUnknown)
			}
			if n := r.count(http.MethodPost); n != 1 {
				t.Errorf("POST sent %d times, want once", n)
			}
			r.secretsShown(t, "Add()'s error", err.Error(), "SENTINEL-new-value")
		})
	}
}

func TestAddResentOnceAfter401(t *testing.T) {
	r := newRig(t)
	c := r.client(t)
	first := true
	r.setHook(func(w http.ResponseWriter, req *http.Request) bool {
		if first {
			first = false
			w.WriteHeader(http.StatusUnauthorized)
			return true
		}
		return false
	})
	if _, err := c.Add(ctx(t)); err != nil {
		t.Fatalf("Add() after a 401 error = %v, want a new token and success", err)
	}
	if n, tokens := r.count(http.MethodPost), len(r.emu.Issued()); n != 2 || tokens != 2 {
		t.Errorf("POST sent %d times with %d tokens minted, want 2 and 2", n, tokens)
	}
}

func TestListRetries(t *testing.T) {
	r := newRig(t)
	c := r.client(t)
	fails := 2
	r.setHook(func(w http.ResponseWriter, req *http.Request) bool {
		if fails > 0 {
			fails--
			w.WriteHeader(http.StatusBadGateway)
			return true
		}
		return false
	})
	if got, err := c.List(ctx(t)); err != nil || len(got) != 1 {
		t.Fatalf("List() = %+v, %v; want one secret after two 502s", got, err)
	}
	if n := r.count(http.MethodGet); n != 3 {
		t.Errorf("GET sent %d times, want 3", n)
	}
	if !strings.Contains(r.logs.String(), "retrying") {
		t.Errorf("logs = %q, want a retry line", r.logs.String())
	}

	r.setHook(func(w http.ResponseWriter, req *http.Request) bool {
		w.WriteHeader(http.StatusServiceUnavailable)
		return true
	})
	_, err := c.List(ctx(t))
	var e *adobe.Error
	if !errors.As(err, &e) || e.Attempts != oauthtoken.DefaultMaxAttempts || e.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("List() against a failing API: error = %v, want an *Error after %d attempts", err, oauthtoken.DefaultMaxAttempts)
	}
}

func TestRemoveLostAnswer(t *testing.T) {
	r := newRig(t)
	c := r.client(t)
	added, err := c.Add(ctx(t))
	if err != nil {
		t.Fatalf("Add() error = %v", err)
	}
	first := true
	r.setHook(func(w http.ResponseWriter, req *http.Request) bool {
		if req.Method == http.MethodDelete && first {
			first = false
			return dropAfter(r.emu)(w, req)
		}
		return false
	})
	if err := c.Remove(ctx(t), added.UUID); err != nil {
		t.Fatalf("Remove() after a lost answer error = %v, want the retry's 404 read as done", err)
	}
	if n := r.count(http.MethodDelete); n != 2 {
		t.Errorf("DELETE sent %d times, want 2", n)
	}
	err = c.Remove(ctx(t), added.UUID)
	var e *adobe.Error
	if !errors.As(err, &e) || e.StatusCode != http.StatusNotFound {
		t.Errorf("Remove() of a gone uuid at the first attempt: error = %v, want a 404 *Error", err)
	}
	if err := c.Remove(ctx(t), "a/b"); err == nil {
		t.Errorf("Remove(%q) error = nil, want a refusal", "a/b")
	}
}

// TestErrorsAreScrubbed: a gateway echoes the request, bearer token and all,
// with the client secret in every form, into its refusal.
func TestErrorsAreScrubbed(t *testing.T) {
	r := newRig(t)
	c := r.client(t)
	r.setHook(func(w http.ResponseWriter, req *http.Request) bool {
		w.Header().Set("X-Request-Id", "req-"+sentinel)
		w.WriteHeader(http.StatusForbidden)
		echo := req.Header.Get("Authorization") + " " + sentinel + " " + url.QueryEscape(sentinel)
		_, _ = w.Write([]byte(`{"error_code":"forbidden ` + sentinel + `","message":"` + echo + `"}`))
		return true
	})
	for name, call := range map[string]func() error{
		"List":   func() error { _, err := c.List(ctx(t)); return err },
		"Remove": func() error { return c.Remove(ctx(t), "u-1") },
		"Add":    func() error { _, err := c.Add(ctx(t)); return err },
	} {
		err := call()
		if err == nil {
			t.Fatalf("%s() error = nil, want a refusal", name)
		}
		if !strings.Contains(err.Error(), "HTTP 403") {
			t.Errorf("%s() error = %q, want it to name HTTP 403", name, err)
		}
		r.secretsShown(t, name+"()'s error", err.Error())
	}
	r.secretsShown(t, "the logs", r.logs.String())
}

func TestManagementTokenRefused(t *testing.T) {
	emu, err := imsemu.New(imsemu.Config{Clients: map[string]imsemu.Client{
		// No I/O Management API on this project: the management scopes are not allowed.
		clientID: {Secrets: []string{sentinel}, Scopes: []string{"openid", "AdobeID"}, OrgID: org, CredentialID: cred},
	}})
	if err != nil {
		t.Fatalf("imsemu.New: %v", err)
	}
	ts := httptest.NewServer(emu)
	defer ts.Close()
	c, err := adobe.New(adobe.Config{BaseURL: ts.URL, OrgID: org, CredentialID: cred,
		Credentials: oauthtoken.Credentials{ClientID: clientID, ClientSecret: sentinel},
		Token:       oauthtoken.Config{TokenURL: ts.URL + imsemu.TokenPath}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("adobe.New() error = %v", err)
	}
	_, err = c.List(ctx(t))
	if err == nil || !strings.Contains(err.Error(), "minting a management token") || !strings.Contains(err.Error(), "invalid_scope") {
		t.Fatalf("List() error = %v, want the management token refused for its scope", err)
	}
	if strings.Contains(err.Error(), sentinel) {
		t.Errorf("List()'s error shows the client secret")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	good := adobe.Config{OrgID: org, CredentialID: cred,
		Credentials: oauthtoken.Credentials{ClientID: clientID, ClientSecret: sentinel},
		Token:       oauthtoken.Config{TokenURL: "https://ims-na1.adobelogin.com/ims/token/v3"}}
	if _, err := adobe.New(good); err != nil {
		t.Fatalf("New(good) error = %v", err)
	}
	cases := []struct {
		name string
		edit func(*adobe.Config)
		want string
	}{
		{"plain http off loopback", func(c *adobe.Config) { c.BaseURL = "http://api.adobe.io" }, "management URL"},
		{"loopback http is fine but a bad token URL is not", func(c *adobe.Config) { c.BaseURL = "http://127.0.0.1:1"; c.Token.TokenURL = "" }, "token URL"},
		{"no org_id", func(c *adobe.Config) { c.OrgID = "" }, "org_id"},
		{"credential_id with a slash", func(c *adobe.Config) { c.CredentialID = "a/b" }, "credential_id"},
		{"no secret", func(c *adobe.Config) { c.Credentials.ClientSecret = "" }, "client_secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.edit(&cfg)
			_, err := adobe.New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New() error = %v, want one naming %q", err, tc.want)
			}
			if strings.Contains(err.Error(), sentinel) {
				t.Errorf("New()'s error shows the client secret")
			}
		})
	}
}
