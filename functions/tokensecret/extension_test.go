package tokensecret_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
	"github.com/tokenrotator/tokenrotator/functions/tokensecret/tokensecrettest"
)

func TestExtensionMode(t *testing.T) {
	const session = "session-token-abc"
	tests := []struct {
		name      string
		envToken  string
		setup     func(sm *tokensecrettest.Client)
		wantToken string
		wantErr   error
	}{
		{"reads the token with the session header", session, func(sm *tokensecrettest.Client) {
			sm.PutToken(tokensecrettest.NewToken("token-1", "client-1", start, 24*time.Hour))
		}, "token-1", nil},
		{"wrong session token", "other", func(sm *tokensecrettest.Client) {
			sm.PutToken(tokensecrettest.NewToken("token-1", "client-1", start, 24*time.Hour))
		}, "", tokensecret.ErrAccessDenied},
		{"secret missing", session, func(*tokensecrettest.Client) {}, "", tokensecret.ErrNotFound},
		{"placeholder", session, func(sm *tokensecrettest.Client) { sm.Put(tokensecrettest.Placeholder) }, "", tokensecret.ErrNoToken},
		{"access denied", session, func(sm *tokensecrettest.Client) { sm.Fail(tokensecrettest.AccessDenied()) }, "", tokensecret.ErrAccessDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm := tokensecrettest.NewClient()
			tt.setup(sm)
			var requests atomic.Int32
			var gotHeader, gotID atomic.Value
			ext := tokensecrettest.ExtensionHandler(sm, session)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				gotHeader.Store(r.Header.Get("X-Aws-Parameters-Secrets-Token"))
				gotID.Store(r.URL.Query().Get("secretId"))
				ext.ServeHTTP(w, r)
			}))
			defer srv.Close()

			f := newFixture(t, tokensecret.Config{
				Extension:    true,
				ExtensionURL: srv.URL,
				HTTPClient:   srv.Client(),
				Getenv: func(k string) string {
					if k == "AWS_SESSION_TOKEN" {
						return tt.envToken
					}
					return ""
				},
			})
			for range 3 {
				tok, err := f.src.Get(t.Context())
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Get() = %v, %v; want error %v", tok, err, tt.wantErr)
				}
				if tok.AccessToken != tt.wantToken {
					t.Errorf("Get() = %q, want %q", tok.AccessToken, tt.wantToken)
				}
			}
			if h := gotHeader.Load(); h != tt.envToken {
				t.Errorf("X-Aws-Parameters-Secrets-Token = %v, want %q", h, tt.envToken)
			}
			if id := gotID.Load(); id != "adobe-token" {
				t.Errorf("secretId = %v, want adobe-token", id)
			}
			if tt.wantErr == nil && requests.Load() != 1 {
				t.Errorf("extension requests = %d, want 1 (then cached)", requests.Load())
			}
		})
	}
}

func TestExtensionURLFromEnvironment(t *testing.T) {
	// Only checks that the port variable is honoured: nothing listens there,
	// so the read fails with a connection error naming the address.
	src, err := tokensecret.New(tokensecret.Config{
		SecretID:  "s",
		Extension: true,
		Getenv: func(k string) string {
			if k == "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT" {
				return "1"
			}
			return ""
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Get(t.Context())
	if err == nil || !strings.Contains(err.Error(), "localhost:1/secretsmanager/get") {
		t.Errorf("Get() error = %v, want a failed request to localhost:1", err)
	}
}
