package stack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/oauthmock"
	"github.com/tokenrotator/tokenrotator/infra/local/stack"
)

// mockScope is what the rotator asks oauth2-mock-server for: space-separated,
// as most providers other than IMS want it.
const mockScope = "read write"

// mockLifetime is the lifetime oauth2-mock-server gives its tokens: its
// own default, an hour, as Okta, Cognito and Entra give. A run right after
// a rotation must still find such a token fresh.
const mockLifetime = oauthmock.DefaultLifetime

// mockAudience goes out through TOKEN_PARAMS as aud, the one form field
// oauth2-mock-server turns into the token's audience.
const mockAudience = "https://api.example.com/"

// TestThirdPartyOAuthServer runs the real bootstrap under the Runtime
// Interface Emulator against oauth2-mock-server from npm instead of the IMS
// emulator: a token endpoint written by other people, which signs JWTs.
func TestThirdPartyOAuthServer(t *testing.T) {
	mock := oauthmock.ForTest(t, oauthmock.Config{})
	for _, auth := range []string{"body", "basic"} {
		t.Run("TOKEN_AUTH="+auth, func(t *testing.T) {
			st := startStack(t, "TOKEN_URL="+mock.TokenURL(), "SCOPE="+mockScope, "TOKEN_AUTH="+auth, "TOKEN_PARAMS=aud="+mockAudience)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			requests := len(mock.TokenRequests())

			before := time.Now()
			first, err := st.InvokeEvent(ctx, "scheduler.json")
			if err != nil {
				t.Fatalf("first scheduled run: error = %v\n%s", err, st.Output())
			}
			if !first.Rotated {
				t.Fatalf("first scheduled run: rotated = false, want true (reason %q)", first.Reason)
			}
			tok, err := st.StoredToken(ctx)
			if err != nil {
				t.Fatalf("StoredToken() error = %v", err)
			}
			if tok.VersionID != first.VersionID {
				t.Errorf("AWSCURRENT is version %s, want the run's %s", tok.VersionID, first.VersionID)
			}
			checkMockToken(t, mock, tok, before)

			reqs := mock.TokenRequests()[requests:]
			want := oauthmock.TokenRequest{GrantType: "client_credentials", Auth: auth, ClientID: stack.ClientID, Scope: mockScope, Status: 200}
			if len(reqs) != 1 || reqs[0] != want {
				t.Errorf("token requests = %+v, want one: %+v", reqs, want)
			}

			// Right after, the token is fresh: nothing is fetched or written.
			second, err := st.InvokeEvent(ctx, "scheduler.json")
			if err != nil {
				t.Fatalf("second scheduled run: error = %v", err)
			}
			if second.Rotated {
				t.Errorf("second scheduled run: rotated = true (reason %q), want false", second.Reason)
			}
			if second.VersionID != tok.VersionID {
				t.Errorf("second scheduled run: version_id = %q, want %q", second.VersionID, tok.VersionID)
			}
			if got := len(mock.TokenRequests()) - requests; got != 1 {
				t.Errorf("token requests after two runs = %d, want 1", got)
			}
			checkVersions(t, st, map[string][]string{tok.VersionID: {"AWSCURRENT"}})

			checkNoSecrets(t, st, []imsemu.Issued{{AccessToken: tok.AccessToken}})
			for what, s := range map[string]string{"the client secret": st.ClientSecret(), "the access token": tok.AccessToken} {
				if strings.Contains(mock.Output(), s) {
					t.Errorf("oauth2-mock-server's output holds %s", what)
				}
			}
		})
	}
}

// checkMockToken checks a stored token against what oauth2-mock-server
// issued: a JWT it signed, whose exp is the stored expiry.
func checkMockToken(t *testing.T, mock *oauthmock.Server, tok stack.StoredToken, before time.Time) {
	t.Helper()
	claims, err := mock.Verify(context.Background(), tok.AccessToken)
	if err != nil {
		t.Fatalf("the stored access_token %s is not a JWT oauth2-mock-server signed: %v", stack.Mask(tok.AccessToken), err)
	}
	if claims.Issuer != mock.URL {
		t.Errorf("JWT iss = %q, want %q", claims.Issuer, mock.URL)
	}
	if d := claims.Expiry.Sub(tok.Expiry).Abs(); d > 3*time.Second {
		t.Errorf("JWT exp = %v, want the stored expiry %v within 3s", claims.Expiry, tok.Expiry)
	}
	if len(claims.Audience) != 1 || claims.Audience[0] != mockAudience {
		t.Errorf("JWT aud = %q, want [%s] from TOKEN_PARAMS", claims.Audience, mockAudience)
	}
	if claims.Scope != mockScope {
		t.Errorf("JWT scope = %q, want %q", claims.Scope, mockScope)
	}
	if got, want := tok.TokenType, "bearer"; got != want {
		t.Errorf("token_type = %q, want %q", got, want)
	}
	if got, want := tok.ClientID, stack.ClientID; got != want {
		t.Errorf("client_id = %q, want %q", got, want)
	}
	if got, want := tok.Scope, mockScope; got != want {
		t.Errorf("scope = %q, want %q", got, want)
	}
	now := time.Now()
	if tok.IssuedAt.Before(before.Add(-2*time.Second)) || tok.IssuedAt.After(now.Add(2*time.Second)) {
		t.Errorf("issued_at = %v, want between %v and %v", tok.IssuedAt, before, now)
	}
	if got := tok.Expiry.Sub(tok.IssuedAt); got < mockLifetime-2*time.Second || got > mockLifetime+2*time.Second {
		t.Errorf("expiry - issued_at = %v, want about %v", got, mockLifetime)
	}
}
