// Package rotation decides whether the stored token needs replacing, and
// replaces it: read the credentials, read the stored token, fetch, write.
//
//	r := rotation.New(rotation.Config{Settings: cfg, Store: store, Fetcher: fetcher, Logger: log})
//	res, err := r.Handle(ctx, payload) // the Lambda handler
//
// A run writes at most one version and nothing on failure. Every decision is
// one log line with secret ids, version ids, expiry and durations, never a
// client secret or token.
package rotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

// Store is what the rotator needs of the secrets.
type Store interface {
	ReadCredentials(ctx context.Context, id string) (oauthtoken.Credentials, error)
	ReadToken(ctx context.Context, id string) (secretstore.Current, error)
	WriteToken(ctx context.Context, id string, v secretstore.TokenValue) (string, error)
}

// Fetcher requests a token from the provider.
type Fetcher interface {
	Fetch(ctx context.Context, creds oauthtoken.Credentials) (oauthtoken.Token, error)
}

// Metrics records each run's outcome; see package metrics.
type Metrics interface {
	Success(ttl, tokenRequest time.Duration, rotated bool)
	Failure()
}

// Config wires a Rotator. Settings, Store and Fetcher are required.
type Config struct {
	Settings config.Config
	Store    Store
	Fetcher  Fetcher
	// Metrics, if not nil, is told each run's outcome.
	Metrics Metrics
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives one line per decision; nil means slog.Default().
	Logger *slog.Logger
}

// Rotator keeps the token secret fresh. It is safe for concurrent use.
type Rotator struct {
	cfg Config
}

// New returns a Rotator. It makes no network call.
func New(cfg Config) *Rotator {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Rotator{cfg: cfg}
}

// Result is a run's outcome, returned to the invoker as JSON. It holds no
// secret material.
type Result struct {
	// Rotated says whether a new token version was written.
	Rotated bool `json:"rotated"`
	// Reason says why the run did what it did.
	Reason string `json:"reason"`
	// Expiry and IssuedAt are those of the token now stored.
	Expiry   time.Time `json:"expiry"`
	IssuedAt time.Time `json:"issued_at"`
	// VersionID is the token secret's AWSCURRENT version after the run.
	VersionID string `json:"version_id,omitempty"`
	// PreviousVersionID is the version that was AWSCURRENT before a write.
	PreviousVersionID string `json:"previous_version_id,omitempty"`
	TokenSecretID     string `json:"token_secret_id"`
	ClientID          string `json:"client_id"`
	// DebugID is the token response's X-Debug-Id, when a token was fetched.
	DebugID string `json:"debug_id,omitempty"`
	// TokenRequestMs is the time spent fetching the token, retries included.
	TokenRequestMs int64 `json:"token_request_ms,omitempty"`
	// DurationMs is the whole run.
	DurationMs int64 `json:"duration_ms"`
	// CustomResource is the status reported to CloudFormation, for
	// custom-resource events: SUCCESS, or FAILED with the reason.
	CustomResource string `json:"custom_resource,omitempty"`
}

// Rotate runs once: a normal run when force is false.
func (r *Rotator) Rotate(ctx context.Context, force bool) (Result, error) {
	res, err := r.rotate(ctx, force)
	if r.cfg.Metrics != nil {
		if err != nil {
			r.cfg.Metrics.Failure()
		} else {
			r.cfg.Metrics.Success(res.Expiry.Sub(r.cfg.Now()), time.Duration(res.TokenRequestMs)*time.Millisecond, res.Rotated)
		}
	}
	return res, err
}

func (r *Rotator) rotate(ctx context.Context, force bool) (Result, error) {
	start := r.cfg.Now()
	s := r.cfg.Settings
	log := r.cfg.Logger.With("token_secret_id", s.TokenSecretID, "credentials_secret_id", s.CredentialsSecretID, "force", force)
	res := Result{TokenSecretID: s.TokenSecretID}
	fail := func(err error, attrs ...any) (Result, error) {
		log.ErrorContext(ctx, "rotation failed, nothing written", append(attrs, "error", err.Error(), "duration_ms", r.cfg.Now().Sub(start).Milliseconds())...)
		return Result{}, err
	}

	creds, err := r.cfg.Store.ReadCredentials(ctx, s.CredentialsSecretID)
	if err != nil {
		return fail(err)
	}
	res.ClientID = creds.ClientID
	cur, err := r.cfg.Store.ReadToken(ctx, s.TokenSecretID)
	if err != nil {
		return fail(err)
	}
	now := r.cfg.Now()
	d := Decide(cur, Want{ClientID: creds.ClientID, Scope: s.Scope, TokenParams: s.TokenParams, RefreshAfter: s.RefreshAfter}, now, force)
	res.Reason = d.Reason
	if !d.Refresh {
		res.Expiry, res.IssuedAt, res.VersionID = cur.Value.Expiry.UTC(), cur.Value.IssuedAt.UTC(), cur.VersionID
		res.DurationMs = r.cfg.Now().Sub(start).Milliseconds()
		log.InfoContext(ctx, "token fresh, nothing written", "reason", d.Reason, "version_id", cur.VersionID,
			"expiry", res.Expiry, "duration_ms", res.DurationMs)
		return res, nil
	}

	fetchStart := r.cfg.Now()
	tok, err := r.cfg.Fetcher.Fetch(ctx, creds)
	res.TokenRequestMs = r.cfg.Now().Sub(fetchStart).Milliseconds()
	if err != nil {
		var oe *oauthtoken.Error
		debugID := ""
		if errors.As(err, &oe) {
			debugID = oe.DebugID
		}
		return fail(fmt.Errorf("fetching a token from %s for client %q: %w", s.TokenURL, creds.ClientID, err),
			"reason", d.Reason, "debug_id", debugID, "token_request_ms", res.TokenRequestMs)
	}
	log.InfoContext(ctx, "token fetched", "reason", d.Reason, "client_id", creds.ClientID, "debug_id", tok.DebugID,
		"expiry", tok.Expiry, "lifetime_from", tok.LifetimeFrom, "token_request_ms", res.TokenRequestMs)

	version, err := r.cfg.Store.WriteToken(ctx, s.TokenSecretID, secretstore.TokenValue{
		AccessToken: tok.AccessToken,
		TokenType:   tok.TokenType,
		Expiry:      tok.Expiry,
		IssuedAt:    tok.IssuedAt,
		ClientID:    creds.ClientID,
		Scope:       s.Scope,
		TokenParams: s.TokenParams,
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
