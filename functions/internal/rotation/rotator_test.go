package rotation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

const (
	sentinelSecret = "SENTINEL-client-secret-d00d"
	sentinelToken  = "SENTINEL-access-token-f00d"
)

// fakeStore is a Store whose calls the test counts and can fail.
type fakeStore struct {
	creds    secretstore.Credentials
	credsErr error
	cur      secretstore.Current
	readErr  error
	writeErr error
	writes   []secretstore.TokenValue
}

func (f *fakeStore) ReadCredentials(context.Context, string) (secretstore.Credentials, error) {
	return f.creds, f.credsErr
}
func (f *fakeStore) ReadToken(context.Context, string) (secretstore.Current, error) {
	return f.cur, f.readErr
}
func (f *fakeStore) WriteToken(_ context.Context, _ string, v secretstore.TokenValue) (string, error) {
	if f.writeErr != nil {
		return "", f.writeErr
	}
	f.writes = append(f.writes, v)
	return fmt.Sprintf("v%d", len(f.writes)+1), nil
}

// fakeFetcher hands out a token or an error and counts calls.
type fakeFetcher struct {
	tok   oauthtoken.Token
	err   error
	calls int
}

func (f *fakeFetcher) Fetch(context.Context, oauthtoken.Credentials) (oauthtoken.Token, error) {
	f.calls++
	return f.tok, f.err
}

// countingMetrics counts the run lines by outcome, and the integration
// lines, and keeps each integration's client secret expiry.
type countingMetrics struct {
	ok, failed, integrations int
	secretExpiry             map[string]time.Time
}

func (m *countingMetrics) Integration(string, metrics.Outcome)     { m.integrations++ }
func (m *countingMetrics) TokenRequest(string, time.Duration, int) {}
func (m *countingMetrics) ClientSecretExpiry(name string, at time.Time) {
	if m.secretExpiry == nil {
		m.secretExpiry = map[string]time.Time{}
	}
	m.secretExpiry[name] = at
}
func (m *countingMetrics) Run(s metrics.Summary) {
	if s.Failed > 0 {
		m.failed++
	} else {
		m.ok++
	}
}

var now = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func setup(store *fakeStore, fetcher *fakeFetcher) (*Rotator, *bytes.Buffer, *countingMetrics) {
	var logs bytes.Buffer
	m := &countingMetrics{}
	r := New(Config{
		Settings: config.Config{Integration: "default", CredentialsSecretID: "creds", TokenSecretID: "token", Provider: config.Provider{
			TokenURL: "https://ims.example/t", Scope: "openid", TokenAuth: config.AuthBody, MinTokenAge: time.Hour}},
		Store: store, Fetchers: func(config.Provider) Fetcher { return fetcher }, Metrics: m,
		Now:    func() time.Time { return now },
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)),
	})
	return r, &logs, m
}

func goodStore() *fakeStore {
	return &fakeStore{creds: secretstore.Credentials{Credentials: oauthtoken.Credentials{ClientID: "client-1", ClientSecret: sentinelSecret}},
		cur: secretstore.Current{Problem: "the token secret has no value yet"}}
}

func freshToken() oauthtoken.Token {
	return oauthtoken.Token{AccessToken: sentinelToken, TokenType: "bearer", IssuedAt: now, Expiry: now.Add(86399 * time.Second), DebugID: "dbg-1"}
}

func TestRotateStoresTheFetchedToken(t *testing.T) {
	store, fetcher := goodStore(), &fakeFetcher{tok: freshToken()}
	r, logs, m := setup(store, fetcher)
	res, err := r.Handle(context.Background(), []byte(`{"source":"aws.scheduler","detail":"{}"}`))
	if err != nil {
		t.Fatalf("Handle() error = %v", err)
	}
	if !res.Rotated || res.VersionID != "v2" || !res.Expiry.Equal(now.Add(86399*time.Second)) || res.ClientID != "client-1" {
		t.Errorf("Handle() = %+v, want a rotation to v2 expiring 86399s from now", res)
	}
	want := secretstore.TokenValue{AccessToken: sentinelToken, TokenType: "bearer", IssuedAt: now, Expiry: now.Add(86399 * time.Second), ClientID: "client-1", Scope: "openid"}
	if len(store.writes) != 1 || store.writes[0] != want {
		t.Errorf("writes = %v, want exactly %v", store.writes, want)
	}
	if m.ok != 1 || m.failed != 0 {
		t.Errorf("metrics = %+v, want one success", m)
	}
	noLeak(t, logs.String(), fmt.Sprintf("%+v", res))
	if !strings.Contains(logs.String(), `"msg":"new token stored"`) || !strings.Contains(logs.String(), `"version_id":"v2"`) {
		t.Errorf("logs = %s, want a 'new token stored' line with the version id", logs)
	}
}

func TestRotateLeavesAFreshTokenAlone(t *testing.T) {
	store, fetcher := goodStore(), &fakeFetcher{tok: freshToken()}
	store.cur = secretstore.Current{VersionID: "v7", Value: secretstore.TokenValue{AccessToken: sentinelToken, TokenType: "bearer",
		IssuedAt: now.Add(-10 * time.Minute), Expiry: now.Add(23 * time.Hour), ClientID: "client-1", Scope: "openid"}}
	r, logs, _ := setup(store, fetcher)
	res, err := r.Handle(context.Background(), []byte(`{}`))
	if err != nil || res.Rotated || res.VersionID != "v7" {
		t.Fatalf("Handle() = %+v, %v; want no rotation, version v7", res, err)
	}
	if fetcher.calls != 0 || len(store.writes) != 0 {
		t.Errorf("fetches = %d, writes = %d; want none", fetcher.calls, len(store.writes))
	}
	noLeak(t, logs.String(), fmt.Sprintf("%+v", res))
}

func TestRotateFailuresWriteNothingAndLeakNothing(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*fakeStore, *fakeFetcher)
		wantErr string
	}{
		{"credentials unreadable", func(s *fakeStore, _ *fakeFetcher) {
			s.credsErr = errors.New("reading credentials secret \"creds\": AccessDeniedException")
		}, "AccessDenied"},
		{"token secret unreadable", func(s *fakeStore, _ *fakeFetcher) {
			s.readErr = errors.New("reading token secret \"token\": throttled")
		}, "throttled"},
		{"token endpoint refuses", func(_ *fakeStore, f *fakeFetcher) {
			f.err = &oauthtoken.Error{Reason: "token endpoint refused the request", StatusCode: 400, Code: "invalid_client", DebugID: "dbg-9"}
		}, `fetching a token from https://ims.example/t for client "client-1": token endpoint refused the request: HTTP 400: invalid_client`},
		{"write fails", func(s *fakeStore, _ *fakeFetcher) { s.writeErr = errors.New("writing token secret \"token\": boom") }, "token fetched but not stored, the stored token is unchanged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, fetcher := goodStore(), &fakeFetcher{tok: freshToken()}
			tt.mutate(store, fetcher)
			r, logs, m := setup(store, fetcher)
			res, err := r.Handle(context.Background(), []byte(`{"force":true}`))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Handle() error = %v, want it to contain %q", err, tt.wantErr)
			}
			if len(store.writes) != 0 {
				t.Errorf("writes = %d, want 0", len(store.writes))
			}
			if m.failed != 1 || m.ok != 0 {
				t.Errorf("metrics = %+v, want one failure", m)
			}
			if !strings.Contains(logs.String(), "rotation failed, nothing written") {
				t.Errorf("logs = %s, want the failure logged", logs)
			}
			noLeak(t, logs.String(), err.Error(), fmt.Sprintf("%+v", res))
		})
	}
}

func TestHandleRefusesAnUnknownEvent(t *testing.T) {
	store, fetcher := goodStore(), &fakeFetcher{tok: freshToken()}
	r, _, _ := setup(store, fetcher)
	if _, err := r.Handle(context.Background(), []byte(`{"forced":true}`)); err == nil || !strings.Contains(err.Error(), "unknown field") {
		t.Errorf("Handle() error = %v, want an unknown-field error", err)
	}
	if fetcher.calls != 0 || len(store.writes) != 0 {
		t.Errorf("fetches = %d, writes = %d; want none", fetcher.calls, len(store.writes))
	}
}

func noLeak(t *testing.T, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, sentinelSecret) || strings.Contains(s, sentinelToken) {
			t.Errorf("secret material leaked in %q", s)
		}
	}
}
