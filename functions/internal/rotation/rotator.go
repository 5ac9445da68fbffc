// Package rotation decides whether each integration's stored token needs
// replacing, and replaces it: read the credentials, read the stored token,
// fetch, write. One run covers the environment's integration and those
// found under INTEGRATION_SECRET_PREFIX, a bounded number at a time, with
// writes paced under Secrets Manager's shared write quota (see fleet.go).
//
//	r := rotation.New(rotation.Config{Settings: cfg, Store: store, Directory: dir, Fetchers: fetchers, Logger: log})
//	res, err := r.Handle(ctx, payload) // the Lambda handler
//
// A run writes at most one version per integration and nothing for an
// integration that fails; one integration's failure changes nothing for the
// others. Every decision is one log line with the integration's name, secret
// ids, version ids, expiry and durations, never a client secret or token.
package rotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/clientsecret"
	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

// Store is what the rotator needs of the secrets. It must be safe for
// concurrent use.
type Store interface {
	ReadCredentials(ctx context.Context, id string) (secretstore.Credentials, error)
	ReadToken(ctx context.Context, id string) (secretstore.Current, error)
	WriteToken(ctx context.Context, id string, v secretstore.TokenValue) (string, error)
}

// Directory finds the integrations added under a prefix; see
// secretstore.Directory. It must be safe for concurrent use.
type Directory interface {
	List(ctx context.Context, prefix string) ([]secretstore.Entry, error)
	Lookup(ctx context.Context, prefix, name string) (secretstore.Entry, error)
}

// Fetcher requests a token from the provider. It must be safe for
// concurrent use.
type Fetcher interface {
	Fetch(ctx context.Context, creds oauthtoken.Credentials) (oauthtoken.Token, error)
}

// Metrics records each integration's outcome and each run's; see package
// metrics. It must be safe for concurrent use.
type Metrics interface {
	Integration(name string, o metrics.Outcome)
	Run(s metrics.Summary)
	// TokenRequest records the latency of a token request made by the
	// rotation protocol's createSecret, whose outcome comes steps later.
	TokenRequest(name string, d time.Duration, attempts int)
	// ClientSecretExpiry records when the integration's client secret
	// expires, for a run or createSecret whose credentials say when.
	ClientSecretExpiry(name string, expiresAt time.Time)
}

// Defaults for the zero values of Config.
const (
	// DefaultConcurrency is how many integrations a run works on at once.
	DefaultConcurrency = 16
	// DefaultWriteRate is the most token writes per second a run makes:
	// PutSecretValue, UpdateSecret and UpdateSecretVersionStage share 50
	// requests per second per Region and account, and 10 of them are left
	// for everything else that writes secrets there.
	DefaultWriteRate = 40
	// WriteCeiling is the most token writes Secrets Manager sees from a run
	// in any one second: the pacer releases them 1/DefaultWriteRate apart,
	// and network jitter can bunch a few; still under the quota's 50.
	WriteCeiling = 45
	// DefaultIntegrationTimeout bounds one integration's reads, token
	// request and write, so that a slow provider holds only its own slot.
	DefaultIntegrationTimeout = 30 * time.Second
)

// Config wires a Rotator. Settings, Store and Fetchers are required;
// Directory too when Settings.IntegrationSecretPrefix is set.
type Config struct {
	Settings  config.Config
	Store     Store
	Directory Directory
	// Fetchers returns the Fetcher for an integration's provider settings.
	// NewFetchers builds one that shares a transport and reuses Fetchers.
	Fetchers func(config.Provider) Fetcher
	// Versions, if not nil, serves the rotation protocol's steps (see
	// protocol.go); without it a rotation event fails.
	Versions Versions
	// Credentials, if not nil, serves the client-secret rotation (see
	// clientsecret.go): rotation steps on a credentials secret and the
	// client_secrets events; without it those fail.
	Credentials CredentialStore
	// Managers builds the client-secret Manager for an integration's
	// provider (AdobeManagers); nil fails the client-secret rotation.
	Managers func(ManagerRequest) (clientsecret.Manager, error)
	// SwitchGrace is how long after a client-secret switch a use of the
	// old secret is taken for a token run in flight; 0 means
	// DefaultSwitchGrace.
	SwitchGrace time.Duration
	// OrphanAge is how old a never-used client secret must be before
	// createSecret removes it as an orphan (a younger one may be a
	// concurrent delivery's, not yet stored); 0 means twice
	// IntegrationTimeout.
	OrphanAge time.Duration
	// TestClient sends testSecret's request to TEST_URL; nil means a
	// client with a 10 s timeout that follows no redirect to plain http.
	TestClient *http.Client
	// Metrics, if not nil, is told each integration's and each run's outcome.
	Metrics Metrics
	// Concurrency bounds the integrations worked on at once; 0 means
	// DefaultConcurrency.
	Concurrency int
	// WriteRate bounds the token writes per second; 0 means DefaultWriteRate.
	WriteRate float64
	// IntegrationTimeout bounds one integration's work; 0 means
	// DefaultIntegrationTimeout. The invocation's deadline bounds it too.
	// The token request keeps oauthtoken.Config.Reserve (5 s by default)
	// of it for the write, so it must be well above that.
	IntegrationTimeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives one line per decision; nil means slog.Default().
	Logger *slog.Logger
}

// Rotator keeps the token secret fresh. It is safe for concurrent use.
type Rotator struct {
	cfg    Config
	writes *pacer
}

// New returns a Rotator. It makes no network call.
func New(cfg Config) *Rotator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.WriteRate <= 0 {
		cfg.WriteRate = DefaultWriteRate
	}
	if cfg.IntegrationTimeout <= 0 {
		cfg.IntegrationTimeout = DefaultIntegrationTimeout
	}
	if cfg.TestClient == nil {
		cfg.TestClient = &http.Client{Timeout: TestTimeout, CheckRedirect: noPlainHTTPRedirect}
	}
	return &Rotator{cfg: cfg, writes: newPacer(cfg.WriteRate)}
}

// Result is a run's outcome, returned to the invoker as JSON, and each
// integration's within it. It holds no secret material.
type Result struct {
	// Integration is the integration's name; on a run that covered more
	// than one, empty.
	Integration string `json:"integration,omitempty"`
	// Step is the rotation protocol's step, for a rotation event.
	Step string `json:"step,omitempty"`
	// Rotated says whether a new token version was written (on a run of
	// many: for any of them).
	Rotated bool `json:"rotated"`
	// Reason says why the run did what it did.
	Reason string `json:"reason"`
	// Error is why an integration failed, in Integrations; empty otherwise.
	Error string `json:"error,omitempty"`
	// Expiry and IssuedAt are those of the token now stored (on a run of
	// many: the earliest expiry among those left fresh).
	Expiry   time.Time `json:"expiry"`
	IssuedAt time.Time `json:"issued_at"`
	// VersionID is the token secret's AWSCURRENT version after the run;
	// for a rotation step, the rotation's version (ClientRequestToken).
	VersionID string `json:"version_id,omitempty"`
	// PreviousVersionID is the version that was AWSCURRENT before a write.
	PreviousVersionID string `json:"previous_version_id,omitempty"`
	TokenSecretID     string `json:"token_secret_id"`
	ClientID          string `json:"client_id"`
	// ClientSecretExpiresAt is when the client secret expires, as its
	// credentials secret says (client_secret_expires_at); zero, and left
	// out, when it says nothing.
	ClientSecretExpiresAt time.Time `json:"client_secret_expires_at,omitzero"`
	// CredentialsSecretID is the credentials secret a client-secret
	// rotation worked on.
	CredentialsSecretID string `json:"credentials_secret_id,omitempty"`
	// ClientSecretUUID is the uuid of the client secret a client-secret
	// step added, tested or made current (never its value).
	ClientSecretUUID string `json:"client_secret_uuid,omitempty"`
	// Removed are the uuids of the client secrets removed at the provider.
	Removed []string `json:"removed_client_secrets,omitempty"`
	// DebugID is the token response's X-Debug-Id, when a token was fetched.
	DebugID string `json:"debug_id,omitempty"`
	// TokenRequestMs is the time spent fetching the token, retries included.
	TokenRequestMs int64 `json:"token_request_ms,omitempty"`
	// TokenRequestAttempts is how many token requests were sent, retries
	// included; 0 when none was.
	TokenRequestAttempts int `json:"token_request_attempts,omitempty"`
	// DurationMs is the whole run.
	DurationMs int64 `json:"duration_ms"`
	// CustomResource is the status reported to CloudFormation, for
	// custom-resource events: SUCCESS, or FAILED with the reason.
	CustomResource string `json:"custom_resource,omitempty"`
	// Counts tallies Integrations by outcome.
	Counts *Counts `json:"counts,omitempty"`
	// Integrations holds each integration's outcome, sorted by name.
	Integrations []Result `json:"integrations,omitempty"`
}

// Counts tallies a run's integrations by outcome.
type Counts struct {
	Rotated int `json:"rotated"`
	Fresh   int `json:"fresh"`
	Failed  int `json:"failed"`
}

// target is one integration a run works on.
type target struct {
	name                string
	credentialsSecretID string
	tokenSecretID       string
	problem             string // why it cannot run, from the Directory
	own                 bool   // the environment's own integration: never refused for sharing its credentials secret (see shared.go), and no spread (see spread)
	// creds, if not nil, is the credentials secret's value, read already
	// by this run to learn its ARN (see ownSpellings): one reads it no
	// second time.
	creds *secretstore.Credentials
}

// one runs one integration: read the credentials and their settings, read
// the stored token, decide, fetch, write. It returns the integration's
// result, with Error set when it failed.
func (r *Rotator) one(ctx context.Context, t target, force bool, log *slog.Logger) (Result, error) {
	start := r.cfg.Now()
	log = log.With("integration", t.name, "token_secret_id", t.tokenSecretID, "credentials_secret_id", t.credentialsSecretID)
	res := Result{Integration: t.name, TokenSecretID: t.tokenSecretID}
	fail := func(err error, attrs ...any) (Result, error) {
		log.ErrorContext(ctx, "rotation failed, nothing written", append(attrs, "error", err.Error(), "duration_ms", r.cfg.Now().Sub(start).Milliseconds())...)
		return Result{Integration: t.name, TokenSecretID: t.tokenSecretID, ClientID: res.ClientID, ClientSecretExpiresAt: res.ClientSecretExpiresAt,
			Error: err.Error(), TokenRequestAttempts: res.TokenRequestAttempts, DurationMs: r.cfg.Now().Sub(start).Milliseconds()}, err
	}
	if t.problem != "" {
		return fail(errors.New(t.problem))
	}

	creds, err := r.credentials(ctx, t)
	if err != nil {
		return fail(err)
	}
	res.ClientID = creds.ClientID
	res.ClientSecretExpiresAt = r.clientSecretExpiry(ctx, t, creds, log)
	p, err := r.settings(ctx, t, creds)
	if err != nil {
		return fail(fmt.Errorf("credentials secret %q: %w", t.credentialsSecretID, err))
	}
	cur, err := r.cfg.Store.ReadToken(ctx, t.tokenSecretID)
	if err != nil {
		return fail(err)
	}
	now := r.cfg.Now()
	want := Want{ClientID: creds.ClientID, Scope: p.Scope, TokenParams: p.TokenParams, MinTokenAge: p.MinTokenAge}
	if !t.own {
		want.Spread = spread(t.name)
	}
	d := Decide(cur, want, now, force)
	res.Reason = d.Reason
	if !d.Refresh {
		res.Expiry, res.IssuedAt, res.VersionID = cur.Value.Expiry.UTC(), cur.Value.IssuedAt.UTC(), cur.VersionID
		res.DurationMs = r.cfg.Now().Sub(start).Milliseconds()
		log.InfoContext(ctx, "token fresh, nothing written", "reason", d.Reason, "version_id", cur.VersionID,
			"expiry", res.Expiry, "duration_ms", res.DurationMs)
		return res, nil
	}

	fetchStart := r.cfg.Now()
	tok, err := r.cfg.Fetchers(p).Fetch(ctx, creds.Credentials)
	res.TokenRequestMs = r.cfg.Now().Sub(fetchStart).Milliseconds()
	if err != nil {
		var oe *oauthtoken.Error
		debugID := ""
		if errors.As(err, &oe) {
			debugID, res.TokenRequestAttempts = oe.DebugID, oe.Attempts
		}
		return fail(fmt.Errorf("fetching a token from %s for client %q: %w", config.ShowURL(p.TokenURL), creds.ClientID, err),
			"reason", d.Reason, "debug_id", debugID, "token_request_ms", res.TokenRequestMs)
	}
	res.TokenRequestAttempts = tok.Attempts
	log.InfoContext(ctx, "token fetched", "reason", d.Reason, "client_id", creds.ClientID, "debug_id", tok.DebugID,
		"expiry", tok.Expiry, "lifetime_from", tok.LifetimeFrom, "token_request_ms", res.TokenRequestMs)

	if err := r.writes.wait(ctx); err != nil {
		return fail(fmt.Errorf("token fetched but not stored, the stored token is unchanged: waiting for a write slot: %w", err), "debug_id", tok.DebugID)
	}
	version, err := r.cfg.Store.WriteToken(ctx, t.tokenSecretID, secretstore.TokenValue{
		AccessToken: tok.AccessToken,
		TokenType:   tok.TokenType,
		Expiry:      tok.Expiry,
		IssuedAt:    tok.IssuedAt,
		ClientID:    creds.ClientID,
		Scope:       p.Scope,
		TokenParams: p.TokenParams,
	})
	if err != nil {
		return fail(fmt.Errorf("token fetched but not stored, the stored token is unchanged: %w", err), "debug_id", tok.DebugID)
	}
	res.Rotated = true
	res.Expiry, res.IssuedAt, res.VersionID, res.PreviousVersionID = tok.Expiry, tok.IssuedAt, version, cur.VersionID
	res.DebugID = tok.DebugID
	res.DurationMs = r.cfg.Now().Sub(start).Milliseconds()
	log.InfoContext(ctx, "new token stored", "version_id", version, "previous_version_id", cur.VersionID,
		"expiry", res.Expiry, "issued_at", res.IssuedAt, "token_request_ms", res.TokenRequestMs, "duration_ms", res.DurationMs)
	return res, nil
}

// credentials returns t's credentials: those this run read already, or a
// read of its credentials secret.
func (r *Rotator) credentials(ctx context.Context, t target) (secretstore.Credentials, error) {
	if t.creds != nil {
		return *t.creds, nil
	}
	return r.cfg.Store.ReadCredentials(ctx, t.credentialsSecretID)
}
