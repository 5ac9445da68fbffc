package main

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
	"github.com/tokenrotator/tokenrotator/infra/local/stack"
)

// consumer reads the token as a service does, through functions/tokensecret
// (New, then Get) against the local token secret, and shows what the
// service sees: the token masked, its expiry, and the headers it would add
// to a request. It checks that the library read the stored AWSCURRENT
// token, and that a second Get came from its cache.
func consumer(ctx context.Context, t teller, st *stack.Stack) error {
	t.step("a consumer reads the token with functions/tokensecret (tokensecret.New, then Get), as your service would")
	reads := &countingReader{c: st.Secrets}
	logger := slog.New(slog.DiscardHandler)
	if t.verbose() {
		logger = slog.New(slog.NewTextHandler(prefixWriter{t.more, "      log: "}, nil))
	}
	src, err := tokensecret.New(tokensecret.Config{SecretID: stack.TokenSecretID, Client: reads, Logger: logger})
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	tok, err := src.Get(ctx)
	if err != nil {
		return fmt.Errorf("consumer: reading the token: %w", err)
	}
	stored, err := st.StoredToken(ctx)
	if err != nil {
		return err
	}
	if tok.Version != stored.VersionID || tok.AccessToken != stored.AccessToken {
		return fmt.Errorf("consumer: read version %s, want the stored AWSCURRENT version %s and its token", tok.Version, stored.VersionID)
	}
	again, err := src.Get(ctx)
	if err != nil {
		return fmt.Errorf("consumer: reading the token again: %w", err)
	}
	if n := reads.n.Load(); n != 1 || again.Version != tok.Version {
		return fmt.Errorf("consumer: second Get read Secrets Manager (%d reads in all, version %s), want it from the cache", n, again.Version)
	}
	t.detail("the token as the library prints it: %v", tok)

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://api.example.com/v1/reports", nil)
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	src.SetAuthHeader(req, tok)
	t.line("Get: a %s token %s for client %s, expires %s (in %s)",
		strings.ToLower(tok.TokenType), stack.Mask(tok.AccessToken), tok.ClientID,
		tok.Expiry.UTC().Format(minute), strings.TrimSuffix(time.Until(tok.Expiry).Truncate(time.Minute).String(), "0s"))
	t.line("headers it adds to each request: %s", headers(req.Header, tok.AccessToken))
	t.line("a second Get: from its cache, no read of Secrets Manager until shortly before the expiry")
	return nil
}

// headers shows h as "Name: value" pairs, with the access token masked.
func headers(h http.Header, accessToken string) string {
	var pairs []string
	for _, name := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[name] {
			pairs = append(pairs, name+": "+strings.ReplaceAll(v, accessToken, stack.Mask(accessToken)))
		}
	}
	return strings.Join(pairs, ", ")
}

// countingReader is the consumer's Secrets Manager client, counting its
// reads.
type countingReader struct {
	c tokensecret.Client
	n atomic.Int32
}

func (r *countingReader) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	r.n.Add(1)
	return r.c.GetSecretValue(ctx, in, optFns...)
}
