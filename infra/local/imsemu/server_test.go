package imsemu_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

const (
	clientID  = "test-client"
	secret    = "s3cr3t-sentinel-a"
	secret2   = "s3cr3t-sentinel-b"
	testScope = "openid,AdobeID,read_organizations"
)

// newServer starts an emulator with one client and a log buffer.
func newServer(t *testing.T) (*imsemu.Server, *httptest.Server, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	emu, err := imsemu.New(imsemu.Config{
		Clients: map[string]imsemu.Client{
			clientID: {Secrets: []string{secret, secret2}, Scopes: []string{"openid", "AdobeID", "read_organizations"}},
		},
		Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	ts := httptest.NewServer(emu)
	t.Cleanup(func() { emu.Close(); ts.Close() })
	return emu, ts, logs
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func goodForm() url.Values {
	return form("grant_type", "client_credentials", "client_id", clientID, "client_secret", secret, "scope", testScope)
}

type answer struct {
	status  int
	header  http.Header
	body    []byte
	decoded map[string]any
}

func post(t *testing.T, client *http.Client, target string, body url.Values, mutate func(*http.Request)) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(body.Encode()))
	if err != nil {
		t.Fatalf("NewRequest() error = %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if mutate != nil {
		mutate(req)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s error = %v", target, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, body: b}
	_ = json.Unmarshal(b, &a.decoded)
	return a
}

func TestTokenRequests(t *testing.T) {
	tests := []struct {
		name        string
		form        url.Values
		mutate      func(*http.Request)
		wantStatus  int
		wantError   string
		wantDescr   string
		wantIssued  int
		wantInForm  bool
		wantBasicID string
	}{
		{name: "good request", form: goodForm(), wantStatus: 200, wantIssued: 1, wantInForm: true},
		{name: "second secret also valid", form: form("grant_type", "client_credentials", "client_id", clientID, "client_secret", secret2, "scope", testScope),
			wantStatus: 200, wantIssued: 1, wantInForm: true},
		{name: "subset of scopes", form: form("grant_type", "client_credentials", "client_id", clientID, "client_secret", secret, "scope", "openid"),
			wantStatus: 200, wantIssued: 1, wantInForm: true},
		{name: "basic auth", form: form("grant_type", "client_credentials", "scope", testScope),
			mutate: func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret)) }, wantStatus: 200, wantIssued: 1, wantBasicID: clientID},
		{name: "basic auth and body", form: goodForm(),
			mutate:     func(r *http.Request) { r.SetBasicAuth(clientID, secret) },
			wantStatus: 400, wantError: "invalid_request", wantDescr: "client credentials in both the Authorization header and the body", wantInForm: true, wantBasicID: clientID},
		{name: "unknown client", form: form("grant_type", "client_credentials", "client_id", "nobody", "client_secret", secret, "scope", testScope),
			wantStatus: 400, wantError: "invalid_client", wantDescr: "invalid client_id parameter", wantInForm: true},
		{name: "wrong secret", form: form("grant_type", "client_credentials", "client_id", clientID, "client_secret", "wrong", "scope", testScope),
			wantStatus: 400, wantError: "invalid_client", wantDescr: "invalid client_secret parameter", wantInForm: true},
		{name: "scope not allowed", form: form("grant_type", "client_credentials", "client_id", clientID, "client_secret", secret, "scope", "openid,creative_sdk"),
			wantStatus: 400, wantError: "invalid_scope", wantDescr: "invalid scope (creative_sdk)", wantInForm: true},
		{name: "space-separated scopes", form: form("grant_type", "client_credentials", "client_id", clientID, "client_secret", secret, "scope", "openid AdobeID"),
			wantStatus: 400, wantError: "invalid_scope", wantDescr: "invalid scope (openid AdobeID)", wantInForm: true},
		{name: "missing scope", form: form("grant_type", "client_credentials", "client_id", clientID, "client_secret", secret),
			wantStatus: 400, wantError: "invalid_request", wantDescr: "missing scope parameter", wantInForm: true},
		{name: "missing grant type", form: form("client_id", clientID, "client_secret", secret, "scope", testScope),
			wantStatus: 400, wantError: "invalid_request", wantDescr: "missing grant_type parameter", wantInForm: true},
		{name: "other grant type", form: form("grant_type", "password", "client_id", clientID, "client_secret", secret, "scope", testScope),
			wantStatus: 400, wantError: "unsupported_grant_type", wantDescr: `unsupported grant_type "password"`, wantInForm: true},
		{name: "missing client id", form: form("grant_type", "client_credentials", "client_secret", secret, "scope", testScope),
			wantStatus: 400, wantError: "invalid_request", wantDescr: "missing client_id parameter", wantInForm: true},
		{name: "missing client secret", form: form("grant_type", "client_credentials", "client_id", clientID, "scope", testScope),
			wantStatus: 400, wantError: "invalid_request", wantDescr: "missing client_secret parameter"},
		{name: "json body", form: goodForm(), mutate: func(r *http.Request) { r.Header.Set("Content-Type", "application/json") },
			wantStatus: 400, wantError: "invalid_request", wantDescr: "Content-Type must be application/x-www-form-urlencoded", wantInForm: true},
		{name: "form type with charset", form: goodForm(),
			mutate: func(r *http.Request) {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			},
			wantStatus: 200, wantIssued: 1, wantInForm: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, ts, logs := newServer(t)
			a := post(t, ts.Client(), ts.URL+imsemu.TokenPath, tt.form, tt.mutate)
			if a.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", a.status, tt.wantStatus, a.body)
			}
			if got := a.header.Get("X-Debug-Id"); got == "" {
				t.Errorf("X-Debug-Id = %q, want a value", got)
			}
			if got := a.header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			if tt.wantError != "" {
				if got := a.decoded["error"]; got != tt.wantError {
					t.Errorf("error = %v, want %v", got, tt.wantError)
				}
				if got := a.decoded["error_description"]; got != tt.wantDescr {
					t.Errorf("error_description = %v, want %v", got, tt.wantDescr)
				}
			}
			issued := emu.Issued()
			if len(issued) != tt.wantIssued {
				t.Fatalf("len(Issued()) = %d, want %d", len(issued), tt.wantIssued)
			}
			if tt.wantIssued == 1 {
				checkTokenAnswer(t, a, issued[0])
			}
			if got := emu.Requests(); got != 1 {
				t.Errorf("Requests() = %d, want 1", got)
			}
			last, ok := emu.LastRequest()
			if !ok {
				t.Fatalf("LastRequest() ok = false, want true")
			}
			if got := last.Form.Has("client_secret"); got {
				t.Errorf("LastRequest().Form has client_secret, want it removed")
			}
			if last.SecretInForm != tt.wantInForm {
				t.Errorf("LastRequest().SecretInForm = %v, want %v", last.SecretInForm, tt.wantInForm)
			}
			if last.BasicUser != tt.wantBasicID {
				t.Errorf("LastRequest().BasicUser = %q, want %q", last.BasicUser, tt.wantBasicID)
			}
			checkNoSecrets(t, logs.String(), issued)
		})
	}
}

func checkTokenAnswer(t *testing.T, a answer, issued imsemu.Issued) {
	t.Helper()
	if got := a.decoded["access_token"]; got != issued.AccessToken || issued.AccessToken == "" {
		t.Errorf("access_token differs from Issued()[0].AccessToken (or is empty)")
	}
	if got := a.decoded["token_type"]; got != "bearer" {
		t.Errorf("token_type = %v, want bearer", got)
	}
	if got := a.decoded["expires_in"]; got != float64(imsemu.DefaultExpiresIn) {
		t.Errorf("expires_in = %v, want %d", got, imsemu.DefaultExpiresIn)
	}
	if got, want := issued.DebugID, a.header.Get("X-Debug-Id"); got != want {
		t.Errorf("Issued().DebugID = %q, want %q", got, want)
	}
	if got := issued.ClientID; got != clientID {
		t.Errorf("Issued().ClientID = %q, want %q", got, clientID)
	}
}

// checkNoSecrets fails when s holds a client secret or an issued token.
func checkNoSecrets(t *testing.T, s string, issued []imsemu.Issued) {
	t.Helper()
	for _, sec := range []string{secret, secret2} {
		if strings.Contains(s, sec) {
			t.Errorf("a client secret appears in %q", s)
		}
	}
	for _, tok := range issued {
		if strings.Contains(s, tok.AccessToken) {
			t.Errorf("an issued token appears in the output")
		}
	}
}

func TestMethodsAndPaths(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantCount  int
	}{
		{name: "get token path", method: http.MethodGet, path: imsemu.TokenPath, wantStatus: 405, wantCount: 1},
		{name: "put token path", method: http.MethodPut, path: imsemu.TokenPath, wantStatus: 405, wantCount: 1},
		{name: "other path", method: http.MethodPost, path: "/ims/token/v2", wantStatus: 404, wantCount: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, ts, _ := newServer(t)
			req, _ := http.NewRequest(tt.method, ts.URL+tt.path, strings.NewReader(goodForm().Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := ts.Client().Do(req)
			if err != nil {
				t.Fatalf("Do() error = %v", err)
			}
			resp.Body.Close()
			if got := resp.StatusCode; got != tt.wantStatus {
				t.Errorf("status = %d, want %d", got, tt.wantStatus)
			}
			if got := resp.Header.Get("X-Debug-Id"); got == "" {
				t.Errorf("X-Debug-Id = %q, want a value", got)
			}
			if tt.wantStatus == 405 && resp.Header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q, want POST", resp.Header.Get("Allow"))
			}
			if got := emu.Requests(); got != tt.wantCount {
				t.Errorf("Requests() = %d, want %d", got, tt.wantCount)
			}
		})
	}
}

func TestNewRejectsBadClients(t *testing.T) {
	tests := []struct {
		name    string
		clients map[string]imsemu.Client
	}{
		{name: "no secret", clients: map[string]imsemu.Client{"c": {}}},
		{name: "only empty secrets", clients: map[string]imsemu.Client{"c": {Secrets: []string{"", ""}}}},
		{name: "three secrets", clients: map[string]imsemu.Client{"c": {Secrets: []string{"a", "b", "c"}}}},
		{name: "empty id", clients: map[string]imsemu.Client{"": {Secrets: []string{"a"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := imsemu.New(imsemu.Config{Clients: tt.clients}); err == nil {
				t.Errorf("New() error = nil, want an error")
			}
		})
	}
}

func TestSecretRotation(t *testing.T) {
	emu, ts, _ := newServer(t)
	// Drop the first secret: it stops working, the second goes on.
	if err := emu.SetClient(clientID, imsemu.Client{Secrets: []string{secret2}}); err != nil {
		t.Fatalf("SetClient() error = %v", err)
	}
	if a := post(t, ts.Client(), ts.URL+imsemu.TokenPath, goodForm(), nil); a.status != 400 || a.decoded["error"] != "invalid_client" {
		t.Errorf("old secret: status %d error %v, want 400 invalid_client", a.status, a.decoded["error"])
	}
	f := goodForm()
	f.Set("client_secret", secret2)
	if a := post(t, ts.Client(), ts.URL+imsemu.TokenPath, f, nil); a.status != 200 {
		t.Errorf("new secret: status %d, want 200", a.status)
	}
	emu.RemoveClient(clientID)
	if a := post(t, ts.Client(), ts.URL+imsemu.TokenPath, f, nil); a.decoded["error_description"] != "invalid client_id parameter" {
		t.Errorf("removed client: error_description %v, want invalid client_id parameter", a.decoded["error_description"])
	}
}

func TestIssuedRedacts(t *testing.T) {
	i := imsemu.Issued{AccessToken: "tok-sentinel-123", ClientID: clientID, DebugID: "d"}
	var logs bytes.Buffer
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("issued", "token", i)
	for name, s := range map[string]string{"String": i.String(), "LogValue": logs.String()} {
		if strings.Contains(s, i.AccessToken) {
			t.Errorf("%s = %q, want the token redacted", name, s)
		}
	}
}

func TestConcurrentRequests(t *testing.T) {
	emu, ts, _ := newServer(t)
	const n = 20
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			emu.Enqueue(imsemu.SlowHeaders(0))
			req, _ := http.NewRequest(http.MethodPost, ts.URL+imsemu.TokenPath, strings.NewReader(goodForm().Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if resp, err := ts.Client().Do(req); err == nil {
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	if got := emu.Requests(); got != n {
		t.Errorf("Requests() = %d, want %d", got, n)
	}
	if got := len(emu.Issued()); got != n {
		t.Errorf("len(Issued()) = %d, want %d", got, n)
	}
}
