package tokensecret_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
	"github.com/tokenrotator/tokenrotator/functions/tokensecret/tokensecrettest"
)

func TestParseSecret(t *testing.T) {
	valid := `{"access_token":"abc","token_type":"bearer","expiry":"2026-11-29T16:00:00Z","issued_at":"2026-11-28T16:00:01Z","client_id":"cid","scope":"openid,AdobeID,read_organizations"}`
	tests := []struct {
		name    string
		in      string
		want    tokensecret.Token
		wantErr error
	}{
		{"contract example", valid, tokensecret.Token{
			AccessToken: "abc", TokenType: "bearer",
			Expiry:   time.Date(2026, 11, 29, 16, 0, 0, 0, time.UTC),
			IssuedAt: time.Date(2026, 11, 28, 16, 0, 1, 0, time.UTC),
			ClientID: "cid", Scope: "openid,AdobeID,read_organizations",
		}, nil},
		{"token type in capitals", `{"access_token":"abc","token_type":"Bearer","expiry":"2026-11-29T16:00:00Z"}`, tokensecret.Token{
			AccessToken: "abc", TokenType: "Bearer", Expiry: time.Date(2026, 11, 29, 16, 0, 0, 0, time.UTC),
		}, nil},
		{"placeholder", `{}`, tokensecret.Token{}, tokensecret.ErrNoToken},
		{"empty", ``, tokensecret.Token{}, tokensecret.ErrMalformed},
		{"not an object", `[1]`, tokensecret.Token{}, tokensecret.ErrMalformed},
		{"mac token", `{"access_token":"abc","token_type":"mac","expiry":"2026-11-29T16:00:00Z"}`, tokensecret.Token{}, tokensecret.ErrMalformed},
		{"expiry not RFC 3339", `{"access_token":"abc","token_type":"bearer","expiry":"tomorrow"}`, tokensecret.Token{}, tokensecret.ErrMalformed},
		{"issued_at not RFC 3339", `{"access_token":"abc","token_type":"bearer","expiry":"2026-11-29T16:00:00Z","issued_at":"x"}`, tokensecret.Token{}, tokensecret.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tokensecret.ParseSecret(tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ParseSecret() error = %v, want %v", err, tt.wantErr)
			}
			if got.AccessToken != tt.want.AccessToken || got.TokenType != tt.want.TokenType ||
				!got.Expiry.Equal(tt.want.Expiry) || !got.IssuedAt.Equal(tt.want.IssuedAt) ||
				got.ClientID != tt.want.ClientID || got.Scope != tt.want.Scope {
				t.Errorf("ParseSecret() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseSecretRoundTripsTestHelper(t *testing.T) {
	want := tokensecrettest.NewToken(sentinel, "cid", start, 24*time.Hour)
	got, err := tokensecret.ParseSecret(tokensecrettest.SecretString(want))
	if err != nil {
		t.Fatalf("ParseSecret() error = %v", err)
	}
	if got.AccessToken != want.AccessToken || !got.Expiry.Equal(want.Expiry) || got.ClientID != want.ClientID {
		t.Errorf("ParseSecret(SecretString(tok)) = %v, want %v", got, want)
	}
}

// TestNothingPrintsTheToken prints every token-holding value every way
// there is and checks that the sentinel never shows.
func TestNothingPrintsTheToken(t *testing.T) {
	tok := tokensecrettest.NewToken(sentinel, "client-1", start, 24*time.Hour)
	tok.Version = "v1"
	sm := tokensecrettest.NewClient()
	sm.PutToken(tok)
	src, err := tokensecret.New(tokensecret.Config{SecretID: "s", Client: sm, Now: func() time.Time { return start }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	transport := &tokensecret.Transport{Source: src}
	wrapped := struct {
		Tok   tokensecret.Token
		Ptr   *tokensecret.Token
		Src   *tokensecret.Source
		Trans *tokensecret.Transport
		SM    *tokensecrettest.Client
	}{tok, &tok, src, transport, sm}

	values := map[string]any{"Token": tok, "*Token": &tok, "Source": src, "Transport": transport, "Client": sm, "struct": wrapped}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T"}
	for name, v := range values {
		for _, verb := range verbs {
			if out := fmt.Sprintf(verb, v); strings.Contains(out, sentinel) {
				t.Errorf("Sprintf(%q, %s) = %s, shows the token", verb, name, out)
			}
		}
		if out := fmt.Sprint(v); strings.Contains(out, sentinel) {
			t.Errorf("Sprint(%s) = %s, shows the token", name, out)
		}
	}
	if out := tok.String() + tok.GoString(); strings.Contains(out, sentinel) {
		t.Errorf("String/GoString = %s, shows the token", out)
	}
	if !strings.Contains(tok.String(), "REDACTED") || !strings.Contains(tok.String(), "client-1") {
		t.Errorf("String() = %s, want REDACTED and the client id", tok)
	}

	b, err := json.Marshal(wrapped.Tok)
	if err != nil || bytes.Contains(b, []byte(sentinel)) {
		t.Errorf("json.Marshal(Token) = %s, %v; want it redacted", b, err)
	}

	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		l := slog.New(h)
		l.Info("token", "tok", tok, "ptr", &tok, "src", src)
		l.Info("struct", "v", wrapped)
	}
	if strings.Contains(logs.String(), sentinel) {
		t.Errorf("slog output shows the token:\n%s", logs.String())
	}
}
