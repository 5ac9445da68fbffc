package tokensecret_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
	"github.com/tokenrotator/tokenrotator/functions/tokensecret/tokensecrettest"
)

// A Source reads the secret once, then serves the cached token until it
// comes within the margin of its expiry. Here a fake Secrets Manager client
// and a fake clock stand in for AWS and time.
func ExampleNew() {
	clock := tokensecrettest.NewClock(time.Date(2026, 11, 28, 16, 0, 0, 0, time.UTC))
	sm := tokensecrettest.NewClient() // in production: secretsmanager.NewFromConfig(awsCfg)
	sm.PutToken(tokensecrettest.NewToken("token-1", "my-client-id", clock.Now(), 24*time.Hour))

	src, err := tokensecret.New(tokensecret.Config{
		SecretID: "adobe-token",
		Client:   sm,
		Now:      clock.Now,
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	for range 3 {
		tok, _ := src.Get(ctx)
		fmt.Println(tok.ClientID, tok.Expiry.Format(time.RFC3339))
	}

	// The rotator replaces the token at 23 h; the Source notices 55 min
	// later, at expiry - 5 min, with one read.
	clock.Advance(23 * time.Hour)
	sm.PutToken(tokensecrettest.NewToken("token-2", "my-client-id", clock.Now(), 24*time.Hour))
	clock.Advance(55 * time.Minute)
	tok, _ := src.Get(ctx)
	fmt.Println(tok.Expiry.Format(time.RFC3339), "reads:", sm.Reads())
	// Output:
	// my-client-id 2026-11-29T16:00:00Z
	// my-client-id 2026-11-29T16:00:00Z
	// my-client-id 2026-11-29T16:00:00Z
	// 2026-11-30T15:00:00Z reads: 2
}

// NewClient returns an HTTP client that sets the Authorization and x-api-key
// headers Adobe APIs need.
func ExampleNewClient() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s / x-api-key: %s", r.Header.Get("Authorization"), r.Header.Get("x-api-key"))
	}))
	defer api.Close()

	src := tokensecret.StaticSource(tokensecret.Token{AccessToken: "example-token", ClientID: "my-client-id"})
	resp, err := tokensecret.NewClient(src).Get(api.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))
	// Output: 200 Bearer example-token / x-api-key: my-client-id
}

// Config.APIKeyHeader and Config.OmitAPIKey decide where Transport puts the
// client id: in x-api-key (the default, which Adobe APIs need), in another
// header, or nowhere, for APIs that have no use for it.
func ExampleConfig_apiKeyHeader() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "x-api-key=%q x-client-id=%q", r.Header.Get("x-api-key"), r.Header.Get("x-client-id"))
	}))
	defer api.Close()
	sm := tokensecrettest.NewClient()
	sm.PutToken(tokensecrettest.NewToken("example-token", "my-client-id", time.Now(), time.Hour))

	for _, cfg := range []tokensecret.Config{
		{},                            // Adobe: x-api-key
		{APIKeyHeader: "x-client-id"}, // an API that wants it elsewhere
		{OmitAPIKey: true},            // an API that must not see it
	} {
		cfg.SecretID, cfg.Client, cfg.Logger = "api-token", sm, slog.New(slog.DiscardHandler)
		src, err := tokensecret.New(cfg)
		if err != nil {
			fmt.Println(err)
			return
		}
		resp, err := tokensecret.NewClient(src).Get(api.URL)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(string(body))
	}
	// Output:
	// x-api-key="my-client-id" x-client-id=""
	// x-api-key="" x-client-id="my-client-id"
	// x-api-key="" x-client-id=""
}

// Printing or logging a Token never shows the access token.
func ExampleToken_String() {
	tok := tokensecret.Token{
		AccessToken: "do-not-print-me",
		TokenType:   "bearer",
		Expiry:      time.Date(2026, 11, 29, 16, 0, 0, 0, time.UTC),
		ClientID:    "my-client-id",
	}
	fmt.Println(tok)
	fmt.Printf("%#v\n", tok)
	// Output:
	// tokensecret.Token{access_token: REDACTED, token_type: bearer, client_id: my-client-id, scope: , expiry: 2026-11-29T16:00:00Z}
	// tokensecret.Token{access_token: REDACTED, token_type: bearer, client_id: my-client-id, scope: , expiry: 2026-11-29T16:00:00Z}
}

// Errors name their cause; branch on them with errors.Is.
func ExampleErrNoToken() {
	sm := tokensecrettest.NewClient()
	src, _ := tokensecret.New(tokensecret.Config{SecretID: "adobe-token", Client: sm, Logger: slog.New(slog.DiscardHandler)})

	_, err := src.Get(context.Background())
	fmt.Println(errors.Is(err, tokensecret.ErrNotFound))

	sm.Put(tokensecrettest.Placeholder) // what the secret holds before the first rotation
	_, err = src.Get(context.Background())
	fmt.Println(errors.Is(err, tokensecret.ErrNoToken), err)
	// Output:
	// true
	// true reading token secret "adobe-token": version 0: token secret holds no token yet
}

// StaticSource stands in for a real Source in tests and local runs.
func ExampleStaticSource() {
	src := tokensecret.StaticSource(tokensecret.Token{AccessToken: "test-token", ClientID: "test-client"})
	tok, err := src.Get(context.Background())
	fmt.Println(tok.ClientID, err)
	// Output: test-client <nil>
}
