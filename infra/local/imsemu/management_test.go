package imsemu_test

import (
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

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

const (
	mgmtClient = "mgmt-client"
	mgmtSecret = "s3cr3t-sentinel-mgmt"
	orgID      = "ORG1@AdobeOrg"
	credID     = "cred-123"
)

// clock is a settable clock for the emulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type mgmtRig struct {
	emu  *imsemu.Server
	ts   *httptest.Server
	clk  *clock
	logs *syncbuf.Buffer
}

func newMgmt(t *testing.T, scopes []string) *mgmtRig {
	t.Helper()
	r := &mgmtRig{clk: &clock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}, logs: &syncbuf.Buffer{}}
	emu, err := imsemu.New(imsemu.Config{
		Clients: map[string]imsemu.Client{
			mgmtClient: {Secrets: []string{mgmtSecret}, Scopes: scopes, OrgID: orgID, CredentialID: credID},
			clientID:   {Secrets: []string{secret}, OrgID: orgID, CredentialID: "cred-other"},
		},
		Now:    r.clk.now,
		Logger: slog.New(slog.NewTextHandler(r.logs, nil)),
	})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	r.emu, r.ts = emu, httptest.NewServer(emu)
	t.Cleanup(func() { emu.Close(); r.ts.Close() })
	return r
}

// mint gets a token for client with secret and scope; it returns "" and
// the status when refused.
func (r *mgmtRig) mint(t *testing.T, client, sec, scope string) (string, int) {
	t.Helper()
	resp, err := http.PostForm(r.ts.URL+imsemu.TokenPath, form("grant_type", "client_credentials",
		"client_id", client, "client_secret", sec, "scope", scope))
	if err != nil {
		t.Fatalf("token request: %v", err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return out.AccessToken, resp.StatusCode
}

// call makes a management call and returns its status and body.
func (r *mgmtRig) call(t *testing.T, method, path, token, apiKey string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, r.ts.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if apiKey != "" {
		req.Header.Set("x-api-key", apiKey)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

const secretsPath = imsemu.ManagementPrefix + orgID + "/credentials/" + credID + "/secrets"

type listed struct {
	ClientID      string `json:"client_id"`
	ClientSecrets []struct {
		UUID         string `json:"uuid"`
		CreatedAt    string `json:"created_at"`
		ExpiresAt    string `json:"expires_at"`
		SecretUsages []struct {
			LastUsedAt string `json:"last_used_at"`
			GrantType  string `json:"grant_type"`
		} `json:"secret_usages"`
	} `json:"client_secrets"`
}

func decodeList(t *testing.T, body string) listed {
	t.Helper()
	var l listed
	if err := json.Unmarshal([]byte(body), &l); err != nil {
		t.Fatalf("list body %q: %v", body, err)
	}
	return l
}

func TestManagementRotatesASecret(t *testing.T) {
	r := newMgmt(t, nil)
	start := r.clk.now()
	tok, status := r.mint(t, mgmtClient, mgmtSecret, imsemu.ManagementScopes)
	if status != http.StatusOK {
		t.Fatalf("minting a management token: status %d, want 200", status)
	}

	status, body := r.call(t, http.MethodGet, secretsPath, tok, mgmtClient)
	if status != http.StatusOK {
		t.Fatalf("list = %d %s, want 200", status, body)
	}
	l := decodeList(t, body)
	if l.ClientID != mgmtClient || len(l.ClientSecrets) != 1 {
		t.Fatalf("list = %+v, want client %q with one secret", l, mgmtClient)
	}
	old := l.ClientSecrets[0]
	if old.ExpiresAt != "PERMANENT" || old.CreatedAt != strconv.FormatInt(start.UnixMilli(), 10) {
		t.Errorf("listed secret = %+v, want created_at %d and expires_at PERMANENT", old, start.UnixMilli())
	}
	if len(old.SecretUsages) != 1 || old.SecretUsages[0].LastUsedAt != strconv.FormatInt(start.UnixMilli(), 10) {
		t.Errorf("secret_usages = %+v, want the management token's request at %d", old.SecretUsages, start.UnixMilli())
	}

	r.clk.add(time.Minute)
	status, body = r.call(t, http.MethodPost, secretsPath, tok, mgmtClient)
	if status != http.StatusCreated {
		t.Fatalf("add = %d (body not shown: it may hold a secret), want 201", status)
	}
	var added map[string]string
	_ = json.Unmarshal([]byte(body), &added)
	newSecret, newUUID := added["client_secret"], added["uuid"]
	if newSecret == "" || newUUID == "" || newUUID == old.UUID || added["expires_at"] != "PERMANENT" {
		t.Fatalf("add answered %v, want a new client_secret, uuid and expires_at", keys(added))
	}

	l = decodeList(t, mustCall(t, r, http.MethodGet, secretsPath, tok))
	if len(l.ClientSecrets) != 2 || l.ClientSecrets[1].UUID != newUUID || l.ClientSecrets[1].SecretUsages != nil {
		t.Fatalf("list after add = %+v, want the new secret second, never used", l)
	}
	if strings.Contains(mustCall(t, r, http.MethodGet, secretsPath, tok), newSecret) {
		t.Errorf("list shows a secret's value")
	}

	// A third secret is refused, and nothing is added.
	status, body = r.call(t, http.MethodPost, secretsPath, tok, mgmtClient)
	if status != http.StatusBadRequest || !strings.Contains(body, "at most 2") {
		t.Errorf("third add = %d (body not shown: it may hold a secret), want 400 saying at most 2", status)
	}
	if got, _ := r.emu.Secrets(mgmtClient); len(got) != 2 {
		t.Errorf("Secrets() after a refused third add = %d secrets, want 2", len(got))
	}

	// Both secrets mint; each use moves its own last_used_at only.
	r.clk.add(time.Minute)
	if _, status := r.mint(t, mgmtClient, newSecret, "openid"); status != http.StatusOK {
		t.Fatalf("minting with the new secret: status %d, want 200", status)
	}
	infos, _ := r.emu.Secrets(mgmtClient)
	if !infos[1].LastUsedAt.Equal(r.clk.now()) || !infos[0].LastUsedAt.Equal(start) {
		t.Errorf("Secrets() = %+v, want the new one used at %v and the old one still at %v", infos, r.clk.now(), start)
	}

	// Delete the old one by uuid: it no longer mints; the new one does.
	if status, body := r.call(t, http.MethodDelete, secretsPath+"/"+old.UUID, tok, mgmtClient); status != http.StatusNoContent {
		t.Fatalf("delete = %d %s, want 204", status, body)
	}
	if _, status := r.mint(t, mgmtClient, mgmtSecret, "openid"); status != http.StatusBadRequest {
		t.Errorf("minting with the deleted secret: status %d, want 400", status)
	}
	if _, status := r.mint(t, mgmtClient, newSecret, "openid"); status != http.StatusOK {
		t.Errorf("minting with the remaining secret: status %d, want 200", status)
	}
	if status, _ := r.call(t, http.MethodDelete, secretsPath+"/"+old.UUID, tok, mgmtClient); status != http.StatusNotFound {
		t.Errorf("deleting a gone uuid = %d, want 404", status)
	}
	if strings.Contains(r.logs.String(), newSecret) || strings.Contains(r.logs.String(), mgmtSecret) || strings.Contains(r.logs.String(), tok) {
		t.Errorf("the emulator logged a secret or a token")
	}
}

func mustCall(t *testing.T, r *mgmtRig, method, path, tok string) string {
	t.Helper()
	status, body := r.call(t, method, path, tok, mgmtClient)
	if status/100 != 2 {
		t.Fatalf("%s %s = %d %s, want 2xx", method, path, status, body)
	}
	return body
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestManagementRefusals(t *testing.T) {
	r := newMgmt(t, nil)
	mgmt, _ := r.mint(t, mgmtClient, mgmtSecret, imsemu.ManagementScopes)
	readOnly, _ := r.mint(t, mgmtClient, mgmtSecret, "AdobeID,openid,adobeio_api,read_client_secret")
	plain, _ := r.mint(t, mgmtClient, mgmtSecret, "openid,AdobeID,read_organizations")
	other, _ := r.mint(t, clientID, secret, imsemu.ManagementScopes)
	cases := []struct {
		name, method, path, token, apiKey string
		want                              int
	}{
		{"no token", http.MethodGet, secretsPath, "", mgmtClient, http.StatusUnauthorized},
		{"unknown token", http.MethodGet, secretsPath, "not-a-token", mgmtClient, http.StatusUnauthorized},
		{"token without the management scopes", http.MethodGet, secretsPath, plain, mgmtClient, http.StatusForbidden},
		{"read-only token adds", http.MethodPost, secretsPath, readOnly, mgmtClient, http.StatusForbidden},
		{"read-only token deletes", http.MethodDelete, secretsPath + "/x", readOnly, mgmtClient, http.StatusForbidden},
		{"read-only token lists", http.MethodGet, secretsPath, readOnly, mgmtClient, http.StatusOK},
		{"x-api-key missing", http.MethodGet, secretsPath, mgmt, "", http.StatusForbidden},
		{"x-api-key of another client", http.MethodGet, secretsPath, mgmt, clientID, http.StatusForbidden},
		{"another client's token", http.MethodGet, secretsPath, other, clientID, http.StatusForbidden},
		{"wrong organization", http.MethodGet, imsemu.ManagementPrefix + "ORG2@AdobeOrg/credentials/" + credID + "/secrets", mgmt, mgmtClient, http.StatusForbidden},
		{"delete without a uuid", http.MethodDelete, secretsPath, mgmt, mgmtClient, http.StatusMethodNotAllowed},
		{"get one secret", http.MethodGet, secretsPath + "/x", mgmt, mgmtClient, http.StatusMethodNotAllowed},
		{"unknown uuid", http.MethodDelete, secretsPath + "/x", mgmt, mgmtClient, http.StatusNotFound},
		{"bad path", http.MethodGet, imsemu.ManagementPrefix + orgID + "/secrets", mgmt, mgmtClient, http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got, body := r.call(t, tc.method, tc.path, tc.token, tc.apiKey); got != tc.want {
				t.Errorf("%s %s = %d %s, want %d", tc.method, tc.path, got, body, tc.want)
			}
		})
	}
	if got, _ := r.emu.Secrets(mgmtClient); len(got) != 1 {
		t.Errorf("Secrets() after refused calls = %d secrets, want 1", len(got))
	}
}

func TestManagementScopesMustBeAllowed(t *testing.T) {
	r := newMgmt(t, []string{"openid", "AdobeID", "read_organizations"})
	if tok, status := r.mint(t, mgmtClient, mgmtSecret, imsemu.ManagementScopes); status != http.StatusBadRequest || tok != "" {
		t.Errorf("minting a management token for a client without the I/O Management API: status %d, want 400", status)
	}
}

func TestManagementTokenExpires(t *testing.T) {
	r := newMgmt(t, nil)
	tok, _ := r.mint(t, mgmtClient, mgmtSecret, imsemu.ManagementScopes)
	r.clk.add(imsemu.DefaultExpiresIn * time.Second)
	if status, _ := r.call(t, http.MethodGet, secretsPath, tok, mgmtClient); status != http.StatusUnauthorized {
		t.Errorf("list with an expired token = %d, want 401", status)
	}
}

func TestSetClientKeepsSecretUUIDs(t *testing.T) {
	r := newMgmt(t, nil)
	before, _ := r.emu.Secrets(mgmtClient)
	if err := r.emu.SetClient(mgmtClient, imsemu.Client{Secrets: []string{mgmtSecret, "second"}, OrgID: orgID, CredentialID: credID}); err != nil {
		t.Fatalf("SetClient() error = %v", err)
	}
	after, _ := r.emu.Secrets(mgmtClient)
	if len(after) != 2 || after[0] != before[0] || after[1].UUID == before[0].UUID {
		t.Errorf("Secrets() after SetClient = %+v, want %+v kept and a new uuid for the second", after, before[0])
	}
}

// TestIssuedNamesTheSecretThatMintedIt: each issued token records the uuid
// of the client secret its request authenticated with, so that a test can
// tell which of two secrets minted it.
func TestIssuedNamesTheSecretThatMintedIt(t *testing.T) {
	r := newMgmt(t, nil)
	tok, status := r.mint(t, mgmtClient, mgmtSecret, imsemu.ManagementScopes)
	if status != http.StatusOK {
		t.Fatalf("minting a management token: status %d, want 200", status)
	}
	var added map[string]string
	_ = json.Unmarshal([]byte(mustPost(t, r, tok)), &added)
	if _, status := r.mint(t, mgmtClient, added["client_secret"], "openid"); status != http.StatusOK {
		t.Fatalf("minting with the new secret: status %d, want 200", status)
	}
	infos, _ := r.emu.Secrets(mgmtClient)
	issued := r.emu.Issued()
	if len(issued) != 2 || len(infos) != 2 {
		t.Fatalf("Issued() = %d tokens and Secrets() = %d secrets, want 2 and 2", len(issued), len(infos))
	}
	for i, want := range []string{infos[0].UUID, infos[1].UUID} {
		if issued[i].SecretUUID != want || want == "" {
			t.Errorf("Issued()[%d].SecretUUID = %q, want %q (the secret that authenticated it)", i, issued[i].SecretUUID, want)
		}
	}
}

func mustPost(t *testing.T, r *mgmtRig, tok string) string {
	t.Helper()
	status, body := r.call(t, http.MethodPost, secretsPath, tok, mgmtClient)
	if status != http.StatusCreated {
		t.Fatalf("add = %d (body not shown: it may hold a secret), want 201", status)
	}
	return body
}
