package oauthtoken

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// bodyTransport answers every request with one canned response, no network.
type bodyTransport struct {
	status      int
	contentType string
	body        []byte
}

func (b bodyTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: b.status, Header: http.Header{"Content-Type": {b.contentType}, "X-Debug-Id": {"fuzz"}},
		Body: io.NopCloser(bytes.NewReader(b.body))}, nil
}

// FuzzTokenResponse feeds arbitrary token-endpoint answers through the
// real oauth2 parsing and our checks: no panic, no accepted token that
// breaks the contract, and never the client secret in an error.
func FuzzTokenResponse(f *testing.F) {
	f.Add(200, "application/json", []byte(`{"access_token":"t0k3n-value","token_type":"bearer","expires_in":86399}`))
	f.Add(200, "application/json", []byte(`{"access_token":"t","token_type":"bearer","expires_in":"86399"}`))
	f.Add(400, "application/json", []byte(`{"error":"invalid_client","error_description":"invalid client_secret parameter `+sentinelSecret+`"}`))
	f.Add(200, "application/x-www-form-urlencoded", []byte(`access_token=t&token_type=bearer&expires_in=60`))
	f.Add(503, "text/html", []byte(`<html>`+sentinelSecret+`</html>`))
	f.Add(200, "application/json", []byte(`{"access_token":"t","token_type":"mac","expires_in":1e99}`))
	f.Add(200, "application/x-www-form-urlencoded", []byte(`access_token=t&token_type=Bearer&expires_in=3600.0`))
	f.Add(200, "application/x-www-form-urlencoded", []byte(`access_token=`+jwt(`{"exp":4102444800}`)+`&token_type=bearer`))
	f.Add(200, "text/plain", []byte(`access_token=t&token_type=bearer&expires_in=+900`))
	f.Add(200, "application/json", []byte(`{"access_token":"`+jwt(`{"exp":1e300}`)+`","token_type":"bearer"}`))
	f.Add(200, "application/json", []byte(`{"access_token":"a.`+"eyJleHAiOjF9"+`.c","token_type":"bearer","expires_in":"3599"}`))
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		if status < 100 || status > 999 {
			return
		}
		fetcher := New(Config{
			TokenURL: "https://ims.example/ims/token/v3", Transport: bodyTransport{status, contentType, body},
			MaxAttempts: 2, Logger: slog.New(slog.DiscardHandler),
			Sleep: func(context.Context, time.Duration) error { return nil },
		})
		tok, err := fetcher.Fetch(context.Background(), goodCreds)
		if err != nil {
			if strings.Contains(err.Error(), sentinelSecret) {
				t.Errorf("error %q quotes the client secret", err)
			}
			return
		}
		if status < 200 || status > 299 {
			t.Errorf("accepted a token from HTTP %d", status)
		}
		if strings.TrimSpace(tok.AccessToken) == "" || tok.TokenType != "bearer" || tok.Expiry.Sub(tok.IssuedAt) < MinLifetime || tok.Expiry.Sub(tok.IssuedAt) > MaxLifetime {
			t.Errorf("accepted %v", tok)
		}
	})
}
