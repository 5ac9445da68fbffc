package imsemu_test

import (
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

// fixedNow is the clock of the profile tests, so that lifetimes are exact.
var fixedNow = time.Unix(1_700_000_000, 0)

// newProfileServer starts an emulator for the named profile, with cfg's
// other settings; without Clients it registers clientID allowing any scope.
func newProfileServer(t *testing.T, name string, cfg imsemu.Config) (*imsemu.Server, *httptest.Server, *syncbuf.Buffer) {
	t.Helper()
	p, ok := imsemu.ProfileNamed(name)
	if !ok {
		t.Fatalf("ProfileNamed(%q) ok = false, want true", name)
	}
	logs := &syncbuf.Buffer{}
	cfg.Profile = p
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	cfg.Now = func() time.Time { return fixedNow }
	if cfg.Clients == nil {
		cfg.Clients = map[string]imsemu.Client{clientID: {Secrets: []string{secret}}}
	}
	emu, err := imsemu.New(cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	ts := httptest.NewServer(emu)
	t.Cleanup(func() { emu.Close(); ts.Close() })
	return emu, ts, logs
}

// fill replaces each {placeholder} segment of a path pattern with a value.
func fill(pattern string) string {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			segs[i] = "contoso"
		}
	}
	return strings.Join(segs, "/")
}

// withBasic sends the client's credentials in an Authorization: Basic header.
func withBasic(r *http.Request) { r.SetBasicAuth(clientID, secret) }

// bodyCreds is a client_credentials form with the credentials in it, plus kv.
func bodyCreds(kv ...string) url.Values {
	return form(append([]string{"grant_type", "client_credentials", "client_id", clientID, "client_secret", secret}, kv...)...)
}

// noCreds is a client_credentials form without credentials, plus kv.
func noCreds(kv ...string) url.Values {
	return form(append([]string{"grant_type", "client_credentials"}, kv...)...)
}

// claims decodes a JWT's payload, failing when tok is not header.payload.signature
// in unpadded base64url.
func claims(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("access token has %d parts, want a JWT of 3", len(parts))
	}
	var header, payload map[string]any
	for i, dst := range []*map[string]any{&header, &payload} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("JWT part %d is not unpadded base64url: %v", i, err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatalf("JWT part %d is not JSON: %v", i, err)
		}
	}
	if header["alg"] != "HS256" {
		t.Errorf("JWT alg = %v, want HS256", header["alg"])
	}
	return payload
}

func TestProfileAnswers(t *testing.T) {
	now := float64(fixedNow.Unix())
	tests := []struct {
		profile     string
		name        string
		expiresIn   int64 // Config.ExpiresIn
		form        url.Values
		mutate      func(*http.Request)
		wantFields  map[string]any // float64 for a JSON number, string for a JSON string
		wantMissing []string
		wantLife    int64  // the JWT's exp minus iat; 0 when the token is opaque
		wantAud     string // the JWT's aud claim, if any
		wantClaims  map[string]any
	}{
		{profile: "ims", name: "body", form: goodForm(),
			wantFields: map[string]any{"token_type": "bearer", "expires_in": 86399.0}},
		{profile: "auth0", name: "body with audience", form: bodyCreds("audience", "https://api.example.com"),
			wantFields: map[string]any{"token_type": "Bearer", "expires_in": 86400.0},
			wantLife:   86400, wantAud: "https://api.example.com"},
		{profile: "auth0", name: "basic with audience and scope", form: noCreds("audience", "https://api.example.com", "scope", "read:things"), mutate: withBasic,
			wantFields: map[string]any{"token_type": "Bearer", "expires_in": 86400.0},
			wantLife:   86400, wantAud: "https://api.example.com", wantClaims: map[string]any{"scope": "read:things"}},
		{profile: "entra-v2", name: "body", form: bodyCreds("scope", "api://resource/.default"),
			wantFields: map[string]any{"token_type": "Bearer", "expires_in": 3599.0, "ext_expires_in": 3599.0},
			wantLife:   3599, wantAud: "api://resource"},
		{profile: "entra-v2", name: "basic", form: noCreds("scope", "https://graph.microsoft.com/.default"), mutate: withBasic,
			wantFields: map[string]any{"token_type": "Bearer", "expires_in": 3599.0, "ext_expires_in": 3599.0},
			wantLife:   3599, wantAud: "https://graph.microsoft.com"},
		{profile: "entra-v1", name: "string numbers", form: bodyCreds("resource", "https://management.core.windows.net/"),
			wantFields: map[string]any{"token_type": "Bearer", "expires_in": "3599", "ext_expires_in": "3599",
				"expires_on": "1700003599", "not_before": "1700000000", "resource": "https://management.core.windows.net/"},
			wantLife: 3599, wantAud: "https://management.core.windows.net/"},
		{profile: "cognito", name: "basic with scope", form: noCreds("scope", "things/read things/write"), mutate: withBasic,
			wantFields: map[string]any{"token_type": "Bearer", "expires_in": 3600.0},
			wantLife:   3600, wantClaims: map[string]any{"token_use": "access", "scope": "things/read things/write", "client_id": clientID}},
		{profile: "cognito", name: "body without scope", form: bodyCreds(),
			wantFields: map[string]any{"token_type": "Bearer", "expires_in": 3600.0},
			wantLife:   3600, wantClaims: map[string]any{"token_use": "access"}},
		{profile: "okta", name: "basic", form: noCreds("scope", "things:read"), mutate: withBasic,
			wantFields: map[string]any{"token_type": "Bearer", "expires_in": 3600.0, "scope": "things:read"}, wantLife: 3600},
		{profile: "keycloak", name: "default lifetime", form: bodyCreds(),
			wantFields: map[string]any{"token_type": "Bearer", "expires_in": 300.0, "refresh_expires_in": 0.0,
				"not-before-policy": 0.0, "scope": "profile email"}, wantLife: 300},
		{profile: "keycloak", name: "longer lifetime, basic, a scope", expiresIn: 3600, form: noCreds("scope", "things"), mutate: withBasic,
			wantFields: map[string]any{"token_type": "Bearer", "expires_in": 3600.0, "scope": "profile email things"}, wantLife: 3600},
		{profile: "salesforce", name: "no expires_in, opaque token", form: bodyCreds(),
			wantFields: map[string]any{"token_type": "Bearer", "scope": "api", "instance_url": "https://example.my.salesforce.com",
				"issued_at": "1700000000000"},
			wantMissing: []string{"expires_in"}},
	}
	for _, tt := range tests {
		t.Run(tt.profile+"/"+tt.name, func(t *testing.T) {
			emu, ts, logs := newProfileServer(t, tt.profile, imsemu.Config{ExpiresIn: tt.expiresIn})
			a := post(t, ts.Client(), ts.URL+fill(emu.Path()), tt.form, tt.mutate)
			if a.status != http.StatusOK {
				t.Fatalf("status = %d, want 200 (body %s)", a.status, a.body)
			}
			if got := a.header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			for k, want := range tt.wantFields {
				if got := a.decoded[k]; got != want {
					t.Errorf("body[%q] = %#v, want %#v", k, got, want)
				}
			}
			for _, k := range tt.wantMissing {
				if _, ok := a.decoded[k]; ok {
					t.Errorf("body has %q, want it absent", k)
				}
			}
			issued := emu.Issued()
			if len(issued) != 1 {
				t.Fatalf("len(Issued()) = %d, want 1", len(issued))
			}
			tok, _ := a.decoded["access_token"].(string)
			if tok == "" || tok != issued[0].AccessToken {
				t.Errorf("access_token differs from Issued()[0].AccessToken (or is empty)")
			}
			if got, want := issued[0].Scope, tt.form.Get("scope"); got != want {
				t.Errorf("Issued()[0].Scope = %q, want %q", got, want)
			}
			if got := issued[0].ClientID; got != clientID {
				t.Errorf("Issued()[0].ClientID = %q, want %q", got, clientID)
			}
			if tt.wantLife == 0 {
				if strings.Count(tok, ".") == 2 {
					t.Errorf("access token looks like a JWT, want it opaque")
				}
			} else {
				c := claims(t, tok)
				if got, want := c["exp"], now+float64(tt.wantLife); got != want {
					t.Errorf("exp = %v, want %v", got, want)
				}
				if got := c["iat"]; got != now {
					t.Errorf("iat = %v, want %v", got, now)
				}
				if got := c["sub"]; got != clientID {
					t.Errorf("sub = %v, want %v", got, clientID)
				}
				if got, _ := c["aud"].(string); got != tt.wantAud {
					t.Errorf("aud = %q, want %q", got, tt.wantAud)
				}
				for k, want := range tt.wantClaims {
					if got := c[k]; got != want {
						t.Errorf("claim %q = %v, want %v", k, got, want)
					}
				}
			}
			checkNoSecrets(t, logs.String(), issued)
		})
	}
}

func TestSalesforceIDs(t *testing.T) {
	emu, ts, _ := newProfileServer(t, "salesforce", imsemu.Config{})
	a := post(t, ts.Client(), ts.URL+emu.Path(), bodyCreds(), nil)
	tok, _ := a.decoded["access_token"].(string)
	org, _, ok := strings.Cut(tok, "!")
	if !ok || !strings.HasPrefix(org, "00D") {
		t.Errorf("access_token is not of the form 00D…!…")
	}
	id, _ := a.decoded["id"].(string)
	if !strings.HasPrefix(id, "https://login.salesforce.com/id/"+org) || !strings.Contains(id, "/005") {
		t.Errorf("id = %q, want https://login.salesforce.com/id/%s…/005…", id, org)
	}
	if sig, _ := a.decoded["signature"].(string); sig == "" {
		t.Errorf("signature is empty, want a value")
	}
}

func TestProfileRefusals(t *testing.T) {
	restricted := map[string]imsemu.Client{clientID: {Secrets: []string{secret}, Scopes: []string{"things:read", "api://resource/.default"}}}
	tests := []struct {
		profile    string
		name       string
		clients    map[string]imsemu.Client
		form       url.Values
		mutate     func(*http.Request)
		wantStatus int
		wantError  string
		wantDescr  string // exact, or a prefix when it ends in "…"
		wantAADSTS float64
	}{
		{profile: "auth0", name: "no audience", form: bodyCreds(), wantStatus: 403, wantError: "access_denied",
			wantDescr: "No audience parameter was provided, and no default audience has been configured"},
		{profile: "auth0", name: "wrong secret", form: form("grant_type", "client_credentials", "client_id", clientID, "client_secret", "wrong", "audience", "a"),
			wantStatus: 400, wantError: "invalid_client", wantDescr: "invalid client_secret parameter"},
		{profile: "auth0", name: "scope not granted", clients: restricted, form: bodyCreds("audience", "a", "scope", "things:write"),
			wantStatus: 403, wantError: "access_denied", wantDescr: "Client has not been granted scopes: things:write"},
		{profile: "entra-v2", name: "no scope", form: bodyCreds(), wantStatus: 400, wantError: "invalid_request",
			wantDescr: "AADSTS900144: The request body must contain the following parameter: 'scope'.…", wantAADSTS: 900144},
		{profile: "entra-v2", name: "scope without /.default", form: bodyCreds("scope", "api://resource/read"), wantStatus: 400, wantError: "invalid_scope",
			wantDescr: "AADSTS1002012: …", wantAADSTS: 1002012},
		{profile: "entra-v2", name: "two resources", form: bodyCreds("scope", "api://a/.default api://b/.default"), wantStatus: 400, wantError: "invalid_scope",
			wantDescr: "AADSTS70011: …", wantAADSTS: 70011},
		{profile: "entra-v2", name: "resource not allowed", clients: restricted, form: bodyCreds("scope", "api://other/.default"), wantStatus: 400,
			wantError: "invalid_resource", wantDescr: "AADSTS500011: …", wantAADSTS: 500011},
		{profile: "entra-v2", name: "wrong secret", form: form("grant_type", "client_credentials", "client_id", clientID, "client_secret", "wrong", "scope", "api://a/.default"),
			wantStatus: 401, wantError: "invalid_client", wantDescr: "AADSTS7000215: Invalid client secret provided.…", wantAADSTS: 7000215},
		{profile: "entra-v2", name: "unknown client", form: form("grant_type", "client_credentials", "client_id", "nobody", "client_secret", secret, "scope", "api://a/.default"),
			wantStatus: 400, wantError: "unauthorized_client", wantDescr: "AADSTS700016: Application with identifier 'nobody' was not found…", wantAADSTS: 700016},
		{profile: "entra-v1", name: "no resource", form: bodyCreds(), wantStatus: 400, wantError: "invalid_request",
			wantDescr: "AADSTS900144: The request body must contain the following parameter: 'resource'.…", wantAADSTS: 900144},
		{profile: "cognito", name: "json content type", form: bodyCreds(), mutate: func(r *http.Request) { r.Header.Set("Content-Type", "application/json") },
			wantStatus: 400, wantError: "invalid_request"},
		{profile: "cognito", name: "wrong secret", form: noCreds(), mutate: func(r *http.Request) { r.SetBasicAuth(clientID, "wrong") },
			wantStatus: 400, wantError: "invalid_client"},
		{profile: "okta", name: "credentials in the body", form: bodyCreds("scope", "things:read"), wantStatus: 401, wantError: "invalid_client",
			wantDescr: "Client authentication failed. Either the client or the client authentication method is unsupported."},
		{profile: "okta", name: "wrong secret", form: noCreds("scope", "things:read"), mutate: func(r *http.Request) { r.SetBasicAuth(clientID, "wrong") },
			wantStatus: 401, wantError: "invalid_client",
			wantDescr: "Client authentication failed. Either the client or the client authentication method is unsupported."},
		{profile: "okta", name: "no scope", form: noCreds(), mutate: withBasic, wantStatus: 400, wantError: "invalid_scope",
			wantDescr: "The authorization server resource does not have any configured default scopes, 'scope' must be provided."},
		{profile: "okta", name: "scope not allowed", clients: restricted, form: noCreds("scope", "things:read things:write"), mutate: withBasic,
			wantStatus: 400, wantError: "invalid_scope", wantDescr: "One or more scopes are not configured for the authorization server resource."},
		{profile: "keycloak", name: "unknown client", form: form("grant_type", "client_credentials", "client_id", "nobody", "client_secret", secret),
			wantStatus: 400, wantError: "invalid_client", wantDescr: "invalid client_id parameter"},
		{profile: "keycloak", name: "other grant", form: form("grant_type", "password", "client_id", clientID, "client_secret", secret),
			wantStatus: 400, wantError: "unsupported_grant_type", wantDescr: `unsupported grant_type "password"`},
		{profile: "salesforce", name: "basic", form: noCreds(), mutate: withBasic, wantStatus: 400, wantError: "invalid_client",
			wantDescr: "invalid client credentials"},
		{profile: "salesforce", name: "unknown client", form: form("grant_type", "client_credentials", "client_id", "nobody", "client_secret", secret),
			wantStatus: 400, wantError: "invalid_client_id", wantDescr: "client identifier invalid"},
		{profile: "salesforce", name: "wrong secret", form: form("grant_type", "client_credentials", "client_id", clientID, "client_secret", "wrong"),
			wantStatus: 400, wantError: "invalid_client", wantDescr: "invalid client credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.profile+"/"+tt.name, func(t *testing.T) {
			emu, ts, logs := newProfileServer(t, tt.profile, imsemu.Config{Clients: tt.clients})
			a := post(t, ts.Client(), ts.URL+fill(emu.Path()), tt.form, tt.mutate)
			if a.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", a.status, tt.wantStatus, a.body)
			}
			if got := a.decoded["error"]; got != tt.wantError {
				t.Errorf("error = %v, want %v", got, tt.wantError)
			}
			descr, _ := a.decoded["error_description"].(string)
			if prefix, ok := strings.CutSuffix(tt.wantDescr, "…"); ok {
				if !strings.HasPrefix(descr, prefix) {
					t.Errorf("error_description = %q, want it to start with %q", descr, prefix)
				}
			} else if descr != tt.wantDescr {
				t.Errorf("error_description = %q, want %q", descr, tt.wantDescr)
			}
			if tt.wantAADSTS != 0 {
				checkEntraError(t, a, tt.wantAADSTS)
			}
			if got := len(emu.Issued()); got != 0 {
				t.Errorf("len(Issued()) = %d, want 0", got)
			}
			if got := emu.Requests(); got != 1 {
				t.Errorf("Requests() = %d, want 1", got)
			}
			if _, ok := emu.LastRequest(); !ok {
				t.Errorf("LastRequest() ok = false, want true")
			}
			checkNoSecrets(t, logs.String(), nil)
		})
	}
}

// checkEntraError checks the fields of Entra's error body besides error and
// error_description.
func checkEntraError(t *testing.T, a answer, code float64) {
	t.Helper()
	if got, _ := a.decoded["error_codes"].([]any); len(got) != 1 || got[0] != code {
		t.Errorf("error_codes = %v, want [%v]", a.decoded["error_codes"], code)
	}
	for _, k := range []string{"timestamp", "trace_id", "correlation_id"} {
		if got, _ := a.decoded[k].(string); got == "" {
			t.Errorf("%s = %v, want a string", k, a.decoded[k])
		}
	}
	if got, want := a.decoded["trace_id"], a.header.Get("X-Debug-Id"); got != want {
		t.Errorf("trace_id = %v, want the X-Debug-Id %v", got, want)
	}
	if _, err := time.Parse("2006-01-02 15:04:05Z", a.decoded["timestamp"].(string)); err != nil {
		t.Errorf("timestamp = %v, want the form 2006-01-02 15:04:05Z", a.decoded["timestamp"])
	}
}

func TestProfilePaths(t *testing.T) {
	tests := []struct {
		profile    string
		path       string
		wantStatus int
	}{
		{profile: "ims", path: "/ims/token/v3", wantStatus: 200},
		{profile: "ims", path: "/oauth/token", wantStatus: 404},
		{profile: "auth0", path: "/oauth/token", wantStatus: 403}, // no audience in goodForm
		{profile: "auth0", path: "/ims/token/v3", wantStatus: 404},
		{profile: "entra-v2", path: "/contoso/oauth2/v2.0/token", wantStatus: 400},
		{profile: "entra-v2", path: "/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token", wantStatus: 400},
		{profile: "entra-v2", path: "/oauth2/v2.0/token", wantStatus: 404},
		{profile: "entra-v2", path: "//oauth2/v2.0/token", wantStatus: 404},
		{profile: "entra-v2", path: "/a/b/oauth2/v2.0/token", wantStatus: 404},
		{profile: "entra-v2", path: "/contoso/oauth2/token", wantStatus: 404},
		{profile: "entra-v1", path: "/contoso/oauth2/token", wantStatus: 400},
		{profile: "entra-v1", path: "/contoso/oauth2/token/", wantStatus: 404},
		{profile: "cognito", path: "/oauth2/token", wantStatus: 200},
		{profile: "okta", path: "/oauth2/default/v1/token", wantStatus: 401},
		{profile: "okta", path: "/oauth2/v1/token", wantStatus: 404},
		{profile: "keycloak", path: "/realms/demo/protocol/openid-connect/token", wantStatus: 200},
		{profile: "keycloak", path: "/realms//protocol/openid-connect/token", wantStatus: 404},
		{profile: "keycloak", path: "/realms/demo/protocol/openid-connect/auth", wantStatus: 404},
		{profile: "salesforce", path: "/services/oauth2/token", wantStatus: 200},
		{profile: "salesforce", path: "/services/oauth2/revoke", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.profile+tt.path, func(t *testing.T) {
			emu, ts, _ := newProfileServer(t, tt.profile, imsemu.Config{})
			a := post(t, ts.Client(), ts.URL+tt.path, goodForm(), nil)
			if a.status != tt.wantStatus {
				t.Errorf("status = %d, want %d (body %s)", a.status, tt.wantStatus, a.body)
			}
			wantCount := 1
			if tt.wantStatus == 404 {
				wantCount = 0
			}
			if got := emu.Requests(); got != wantCount {
				t.Errorf("Requests() = %d, want %d", got, wantCount)
			}
		})
	}
}

func TestProfilesList(t *testing.T) {
	var names []string
	for _, p := range imsemu.Profiles() {
		names = append(names, p.Name)
		if !strings.HasPrefix(p.Path, "/") {
			t.Errorf("profile %q: Path = %q, want it to start with /", p.Name, p.Path)
		}
		got, ok := imsemu.ProfileNamed(p.Name)
		if !ok || got.Path != p.Path {
			t.Errorf("ProfileNamed(%q) = %v, %v, want the profile of Profiles()", p.Name, got, ok)
		}
	}
	want := []string{"ims", "auth0", "entra-v2", "entra-v1", "cognito", "okta", "keycloak", "salesforce"}
	if !slices.Equal(names, want) {
		t.Errorf("Profiles() names = %v, want %v", names, want)
	}
	if _, ok := imsemu.ProfileNamed("google"); ok {
		t.Errorf("ProfileNamed(google) ok = true, want false")
	}
	emu, err := imsemu.New(imsemu.Config{})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	if got := emu.Path(); got != imsemu.TokenPath {
		t.Errorf("Path() of the zero profile = %q, want %q", got, imsemu.TokenPath)
	}
}

func TestNewRejectsBadProfiles(t *testing.T) {
	tests := []struct {
		name    string
		profile imsemu.Profile
	}{
		{name: "relative path", profile: imsemu.Profile{Name: "x", Path: "oauth/token"}},
		{name: "name without path", profile: imsemu.Profile{Name: "x"}},
		{name: "brace inside a segment", profile: imsemu.Profile{Name: "x", Path: "/t{tenant}/token"}},
		{name: "unclosed placeholder", profile: imsemu.Profile{Name: "x", Path: "/{tenant/token"}},
		{name: "empty placeholder", profile: imsemu.Profile{Name: "x", Path: "/{}/token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := imsemu.New(imsemu.Config{Profile: tt.profile}); err == nil {
				t.Errorf("New() error = nil, want an error")
			}
		})
	}
}
