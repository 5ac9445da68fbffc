package rotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/event"
	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

// Secrets Manager's rotation protocol, the second engine: Secrets Manager
// invokes the function once per step for each token secret that is due,
// and the steps call the same credentials read, fetch and checks as a run.
//
//   - createSecret fetches a token and stores it as the event's version,
//     staged AWSPENDING only; if that version already holds a token, it does
//     nothing.
//   - setSecret has nothing to set: the provider issued the token.
//   - testSecret checks the pending value (a token for this integration's
//     client and settings, with at least half its lifetime left) and, when
//     TEST_URL is set, that a GET with it answers 2xx.
//   - finishSecret checks the pending value again, moves AWSCURRENT to it
//     (the version before becomes AWSPREVIOUS) and removes AWSPENDING.
//
// Every step first makes the checks AWS's own rotation functions make:
// rotation is enabled for the secret, the version has a stage, and a
// version already AWSCURRENT means there is nothing left to do. A step that
// fails leaves AWSCURRENT where it was, so consumers keep the last good
// token, and any step can be repeated: Secrets Manager retries a failed
// rotation with the same version.

// Versions is what the rotation protocol's steps need of the token secret
// beyond a run's reads and writes; see secretstore. It must be safe for
// concurrent use.
type Versions interface {
	Versions(ctx context.Context, id string) (secretstore.Versions, error)
	ReadPending(ctx context.Context, id, version string) (secretstore.Pending, error)
	WritePending(ctx context.Context, id, version, rotationToken string, v secretstore.TokenValue) error
	MakeCurrent(ctx context.Context, id, to, from string) error
	DropPending(ctx context.Context, id, version string) error
}

// step runs one step of the rotation protocol within the integration
// deadline. A panic fails the step like any other error.
func (r *Rotator) step(ctx context.Context, ev event.Rotation) (res Result, err error) {
	start := r.cfg.Now()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.IntegrationTimeout)
	defer cancel()
	base := r.cfg.Logger.With("step", ev.Step, "secret_id", ev.SecretID, "version_id", ev.ClientRequestToken)
	log := base
	var t target
	clientSecret := false
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%s: internal error: %v", ev.Step, p)
		}
		res.Step, res.DurationMs = ev.Step, r.cfg.Now().Sub(start).Milliseconds()
		if err != nil && clientSecret {
			// The token's metrics and alarms are not this rotation's: the
			// failed invocation is what the function's Errors alarm sees.
			base.ErrorContext(ctx, "client-secret rotation step failed", "integration", t.name, "error", err.Error(), "duration_ms", res.DurationMs)
			res.Error = err.Error()
			return
		}
		if err != nil {
			base.ErrorContext(ctx, "rotation step failed", "integration", t.name, "error", err.Error(), "duration_ms", res.DurationMs)
			res = Result{Integration: t.name, Step: ev.Step, TokenSecretID: ev.SecretID, VersionID: res.VersionID, ClientID: res.ClientID,
				ClientSecretExpiresAt: res.ClientSecretExpiresAt, Error: err.Error(), TokenRequestAttempts: res.TokenRequestAttempts, DurationMs: res.DurationMs}
			r.stepMetrics(t, metrics.Outcome{Failed: true, Attempts: res.TokenRequestAttempts})
		}
	}()
	if r.cfg.Versions == nil {
		return Result{}, errors.New("this function was built without the rotation protocol's store (Config.Versions)")
	}

	t = r.guess(ev.SecretID) // names a failure to describe the secret
	v, err := r.cfg.Versions.Versions(ctx, ev.SecretID)
	if err != nil {
		return Result{}, err
	}
	if r.cfg.Credentials != nil {
		ct, ok, err := r.credentialsTarget(ctx, v.ARN, v.Name)
		if ok || err != nil {
			t, clientSecret = ct, true
			res = Result{Integration: t.name, CredentialsSecretID: v.ARN, VersionID: ev.ClientRequestToken}
			if err != nil {
				return res, err
			}
			ctx = withIntegration(ctx, t.name)
			return r.clientSecretStep(ctx, t, v, ev, res, base.With("integration", t.name))
		}
	}
	owner, err := r.owner(ctx, v, ev.Step == event.StepCreate)
	if err != nil {
		return Result{}, err // t keeps the guess, for the failure's lines
	}
	t = owner
	ctx = withIntegration(ctx, t.name)
	log = base.With("integration", t.name)
	res = Result{Integration: t.name, TokenSecretID: v.ARN, VersionID: ev.ClientRequestToken}
	if t.problem != "" {
		return res, errors.New(t.problem)
	}
	done, err := checkStages(v, ev)
	if err != nil {
		return res, err
	}
	if done != "" {
		if ev.Step == event.StepFinish && v.Has(ev.ClientRequestToken, secretstore.StagePending) {
			r.dropPending(ctx, v.ARN, ev.ClientRequestToken, log)
		}
		res.Reason = done
		log.InfoContext(ctx, "rotation step: nothing to do", "reason", done)
		return res, nil
	}

	switch ev.Step {
	case event.StepCreate:
		return r.createSecret(ctx, t, v, ev, res, log)
	case event.StepSet:
		res.Reason = "nothing to set at the provider: it issued the token, and keeps nothing for us to change"
		log.InfoContext(ctx, "setSecret: nothing to set at the provider, it issued the token")
		return res, nil
	case event.StepTest:
		return r.testSecret(ctx, t, v, ev, res, log)
	default:
		return r.finishSecret(ctx, t, v, ev, res, log)
	}
}

// owner finds the integration whose token secret v is: the function's own
// (TOKEN_SECRET_ID, by ARN or name), or one added under
// INTEGRATION_SECRET_PREFIX. Anything else is refused. When minting, the
// added integration is checked as a run checks it, against every other
// (no shared credentials secret), from the tags this step's DescribeSecret
// read; the other steps mint nothing and read only those tags.
func (r *Rotator) owner(ctx context.Context, v secretstore.Versions, minting bool) (target, error) {
	s := r.cfg.Settings
	if s.TokenSecretID != "" && (s.TokenSecretID == v.ARN || s.TokenSecretID == v.Name) {
		return target{name: s.Integration, credentialsSecretID: s.CredentialsSecretID, tokenSecretID: v.ARN, own: true}, nil
	}
	name, added := strings.CutPrefix(v.Name, s.IntegrationSecretPrefix)
	if s.IntegrationSecretPrefix == "" || !added {
		return target{}, fmt.Errorf("secret %q is not a token secret of this function: it is neither %s nor named under %s %q; refusing to rotate it, nothing written",
			v.ARN, config.EnvTokenSecretID, config.EnvIntegrationSecretPrefix, s.IntegrationSecretPrefix)
	}
	if !minting {
		return r.fromEntry(v.Entry(name)), nil
	}
	return r.alone(ctx, v.Entry(name))
}

// guess names the integration of the secret id (ARN or name) without a
// call, for the log and metric lines of a step that cannot describe it;
// owner decides.
func (r *Rotator) guess(id string) target {
	s := r.cfg.Settings
	if s.TokenSecretID != "" && id == s.TokenSecretID {
		return target{name: s.Integration, own: true}
	}
	name := id
	if _, after, ok := strings.Cut(id, ":secret:"); ok && len(after) > 7 && after[len(after)-7] == '-' {
		name = after[:len(after)-7] // the ARN's name, without its random suffix
	}
	if n, ok := strings.CutPrefix(name, s.IntegrationSecretPrefix); ok && s.IntegrationSecretPrefix != "" && integration.CheckName(n) == nil {
		return target{name: n}
	}
	return target{}
}

// checkStages makes the checks AWS's rotation functions make before any
// step. done, when not empty, says why there is nothing left to do.
func checkStages(v secretstore.Versions, ev event.Rotation) (done string, err error) {
	version := ev.ClientRequestToken
	switch {
	case !v.RotationEnabled:
		return "", fmt.Errorf("secret %q is not enabled for rotation (DescribeSecret says RotationEnabled false); a rotation step is taken only for a secret Secrets Manager rotates, nothing written", v.ARN)
	case v.Stages[version] == nil:
		return "", fmt.Errorf("version %q has no stage for rotation of secret %q; nothing written", version, v.ARN)
	case v.Has(version, secretstore.StageCurrent):
		return fmt.Sprintf("version %q is already AWSCURRENT", version), nil
	case !v.Has(version, secretstore.StagePending):
		return "", fmt.Errorf("version %q of secret %q is not set as AWSPENDING for rotation (its stages: %s); nothing written",
			version, v.ARN, strings.Join(v.Stages[version], ", "))
	}
	return "", nil
}

// createSecret stores a new token as the pending version, unless that
// version already holds one for this integration.
func (r *Rotator) createSecret(ctx context.Context, t target, v secretstore.Versions, ev event.Rotation, res Result, log *slog.Logger) (Result, error) {
	pending, err := r.cfg.Versions.ReadPending(ctx, v.ARN, ev.ClientRequestToken)
	if err != nil {
		return res, err
	}
	if pending.Found {
		if pending.Problem != "" {
			return res, fmt.Errorf("createSecret: version %q already holds a value that is no token (%s), and a version's value cannot be replaced; cancel this rotation (aws secretsmanager cancel-rotate-secret) and rotate again",
				ev.ClientRequestToken, pending.Problem)
		}
		res.Reason = "the pending version already holds a token: nothing written"
		res.ClientID, res.Expiry, res.IssuedAt = pending.Value.ClientID, pending.Value.Expiry.UTC(), pending.Value.IssuedAt.UTC()
		log.InfoContext(ctx, "createSecret: the pending version already holds a token, nothing written", "expiry", res.Expiry)
		return res, nil
	}
	creds, p, err := r.provider(ctx, t)
	if err != nil {
		return res, err
	}
	res.ClientID = creds.ClientID
	res.ClientSecretExpiresAt = r.clientSecretExpiry(ctx, t, creds, log)
	fetchStart := r.cfg.Now()
	tok, err := r.cfg.Fetchers(p).Fetch(ctx, creds.Credentials)
	res.TokenRequestMs = r.cfg.Now().Sub(fetchStart).Milliseconds()
	if err != nil {
		var oe *oauthtoken.Error
		if errors.As(err, &oe) {
			res.TokenRequestAttempts = oe.Attempts
		}
		return res, fmt.Errorf("createSecret: fetching a token from %s for client %q: %w", config.ShowURL(p.TokenURL), creds.ClientID, err)
	}
	res.TokenRequestAttempts = tok.Attempts
	if r.cfg.Metrics != nil {
		r.cfg.Metrics.TokenRequest(t.name, r.cfg.Now().Sub(fetchStart), tok.Attempts)
	}
	log.InfoContext(ctx, "token fetched", "client_id", creds.ClientID, "debug_id", tok.DebugID, "expiry", tok.Expiry,
		"lifetime_from", tok.LifetimeFrom, "token_request_ms", res.TokenRequestMs)
	if err := r.writes.wait(ctx); err != nil {
		return res, fmt.Errorf("createSecret: token fetched but not stored: waiting for a write slot: %w", err)
	}
	value := secretstore.TokenValue{AccessToken: tok.AccessToken, TokenType: tok.TokenType, Expiry: tok.Expiry, IssuedAt: tok.IssuedAt,
		ClientID: creds.ClientID, Scope: p.Scope, TokenParams: p.TokenParams}
	err = r.cfg.Versions.WritePending(ctx, v.ARN, ev.ClientRequestToken, ev.RotationToken, value)
	if errors.Is(err, secretstore.ErrVersionExists) {
		// A duplicate delivery stored its own token first; keep that one.
		if again, rerr := r.cfg.Versions.ReadPending(ctx, v.ARN, ev.ClientRequestToken); rerr == nil && again.Found && again.Problem == "" {
			res.Reason = "a concurrent delivery of this step stored the pending token first: nothing written"
			res.Expiry, res.IssuedAt = again.Value.Expiry.UTC(), again.Value.IssuedAt.UTC()
			log.InfoContext(ctx, "createSecret: a concurrent delivery stored the pending token first, nothing written")
			return res, nil
		}
	}
	if err != nil {
		return res, fmt.Errorf("createSecret: token fetched but not stored: %w", err)
	}
	res.Reason = "new token stored as the pending version"
	res.Expiry, res.IssuedAt, res.DebugID = tok.Expiry.UTC(), tok.IssuedAt.UTC(), tok.DebugID
	log.InfoContext(ctx, "createSecret: new token stored as AWSPENDING", "expiry", res.Expiry, "issued_at", res.IssuedAt,
		"token_request_ms", res.TokenRequestMs)
	return res, nil
}

// testSecret checks the pending token, and tries it on the integration's
// TEST_URL when it has one; an integration of another provider than the
// function's has only the test_url it sets (config.Provider.TestURLWithheld).
func (r *Rotator) testSecret(ctx context.Context, t target, v secretstore.Versions, ev event.Rotation, res Result, log *slog.Logger) (Result, error) {
	value, p, err := r.checkPending(ctx, t, v, ev)
	res.ClientID = value.ClientID
	if err != nil {
		return res, err
	}
	res.Expiry, res.IssuedAt = value.Expiry.UTC(), value.IssuedAt.UTC()
	res.Reason = "the pending token is valid for this integration"
	if p.TestURLWithheld {
		log.InfoContext(ctx, "testSecret: TEST_URL not used",
			"reason", "the integration's credentials secret sets a token_url of its own and no test_url; the function's TEST_URL may be another provider's, so no token is sent there (set test_url to test it)")
	}
	if p.TestURL != "" {
		status, err := r.tryToken(ctx, p, value)
		if err != nil {
			return res, fmt.Errorf("testSecret: %w", err)
		}
		res.Reason += fmt.Sprintf("; TEST_URL answered %d", status)
	}
	log.InfoContext(ctx, "testSecret: pending token passed", "reason", res.Reason, "expiry", res.Expiry)
	return res, nil
}

// finishSecret makes the pending token current, once it checks out again.
func (r *Rotator) finishSecret(ctx context.Context, t target, v secretstore.Versions, ev event.Rotation, res Result, log *slog.Logger) (Result, error) {
	value, _, err := r.checkPending(ctx, t, v, ev)
	res.ClientID = value.ClientID
	if err != nil {
		return res, err
	}
	current := v.With(secretstore.StageCurrent)
	if err := r.cfg.Versions.MakeCurrent(ctx, v.ARN, ev.ClientRequestToken, current); err != nil {
		// The move may have happened all the same: its answer lost and the
		// SDK's retry refused, or a concurrent delivery moved it first.
		if !r.hasStage(ctx, v.ARN, ev.ClientRequestToken, secretstore.StageCurrent) {
			return res, fmt.Errorf("finishSecret: %w", err)
		}
		log.InfoContext(ctx, "finishSecret: the move of AWSCURRENT answered an error, yet the version is AWSCURRENT (a lost answer, or a concurrent delivery)",
			"error", err.Error())
	}
	r.dropPending(ctx, v.ARN, ev.ClientRequestToken, log)
	res.Rotated = true
	res.Reason = "the pending token is now AWSCURRENT"
	res.PreviousVersionID = current
	res.Expiry, res.IssuedAt = value.Expiry.UTC(), value.IssuedAt.UTC()
	r.stepMetrics(t, metrics.Outcome{Rotated: true, TTL: value.Expiry.Sub(r.cfg.Now())})
	log.InfoContext(ctx, "finishSecret: new token is AWSCURRENT", "previous_version_id", current, "expiry", res.Expiry)
	return res, nil
}

// dropPending removes AWSPENDING from a version that is now AWSCURRENT. A
// failure is only logged: AWSPENDING on the AWSCURRENT version is a
// finished rotation to Secrets Manager too.
func (r *Rotator) dropPending(ctx context.Context, id, version string, log *slog.Logger) {
	if err := r.cfg.Versions.DropPending(ctx, id, version); err != nil && r.hasStage(ctx, id, version, secretstore.StagePending) {
		log.WarnContext(ctx, "finishSecret: AWSPENDING left on the current version", "error", err.Error())
	}
}

// hasStage describes the secret again and reports whether version now
// carries stage; false when that cannot be told.
func (r *Rotator) hasStage(ctx context.Context, id, version, stage string) bool {
	v, err := r.cfg.Versions.Versions(ctx, id)
	return err == nil && v.Has(version, stage)
}

// checkPending reads the pending value and checks that it is a token for
// t's client and settings with at least half its lifetime left.
func (r *Rotator) checkPending(ctx context.Context, t target, v secretstore.Versions, ev event.Rotation) (secretstore.TokenValue, config.Provider, error) {
	pending, err := r.cfg.Versions.ReadPending(ctx, v.ARN, ev.ClientRequestToken)
	if err != nil {
		return secretstore.TokenValue{}, config.Provider{}, err
	}
	bad := func(format string, args ...any) (secretstore.TokenValue, config.Provider, error) {
		return pending.Value, config.Provider{}, fmt.Errorf("%s: the pending version %q "+format+
			"; AWSCURRENT stays; if the function did not write that value, cancel the rotation (aws secretsmanager cancel-rotate-secret) and rotate again",
			append([]any{ev.Step, ev.ClientRequestToken}, args...)...)
	}
	switch {
	case !pending.Found:
		return bad("has no value: createSecret has not stored a token in it")
	case pending.Problem != "":
		return bad("is no usable token: %s", pending.Problem)
	}
	creds, p, err := r.provider(ctx, t)
	if err != nil {
		return pending.Value, config.Provider{}, err
	}
	val, now := pending.Value, r.cfg.Now()
	life := val.Expiry.Sub(val.IssuedAt)
	switch {
	case val.ClientID != creds.ClientID:
		return bad("is a token for client %q, the credentials are for %q", val.ClientID, creds.ClientID)
	case val.Scope != p.Scope:
		return bad("has scope %q, the integration's is %q", val.Scope, p.Scope)
	case val.TokenParams != p.TokenParams:
		return bad("was made with token parameters %q, the integration's are %q", val.TokenParams, p.TokenParams)
	case !now.Before(val.Expiry):
		return bad("expired at %s", val.Expiry.UTC().Format(time.RFC3339))
	case val.Expiry.Sub(now) < life/2:
		return bad("has %s left of its %s lifetime, less than half: a token made for this rotation would have more",
			val.Expiry.Sub(now).Round(time.Second), life.Round(time.Second))
	}
	return val, p, nil
}

// provider reads t's credentials and settings.
func (r *Rotator) provider(ctx context.Context, t target) (secretstore.Credentials, config.Provider, error) {
	creds, err := r.cfg.Store.ReadCredentials(ctx, t.credentialsSecretID)
	if err != nil {
		return secretstore.Credentials{}, config.Provider{}, err
	}
	p, err := r.settings(ctx, t, creds)
	if err != nil {
		return secretstore.Credentials{}, config.Provider{}, fmt.Errorf("credentials secret %q: %w", t.credentialsSecretID, err)
	}
	return creds, p, nil
}

// settings returns t's provider settings: the environment's, with those
// of its credentials secret over them. It logs each deprecated name the
// credentials secret uses, once per read.
func (r *Rotator) settings(ctx context.Context, t target, creds secretstore.Credentials) (config.Provider, error) {
	for _, d := range config.DeprecatedFields(creds.Fields) {
		r.cfg.Logger.WarnContext(ctx, "deprecated setting", "integration", t.name, "credentials_secret_id", t.credentialsSecretID, "detail", d)
	}
	p, err := r.cfg.Settings.Provider.Overlay(creds.Fields)
	if err != nil {
		return config.Provider{}, err
	}
	if err := p.CheckClientSecret(creds.ClientSecret != ""); err != nil {
		return config.Provider{}, err
	}
	return p, nil
}

// stepMetrics records a finished or failed rotation. The integration's
// line is written for every integration, so that its alarm watches both
// engines. The run line, which the stack's stale-token alarm watches, means
// "every integration is fresh" on a scheduled run; a step concerns one
// secret, so a success writes it only for the function's own integration
// (an added one's success says nothing of the others), and a failure
// always.
func (r *Rotator) stepMetrics(t target, o metrics.Outcome) {
	if r.cfg.Metrics == nil {
		return
	}
	if t.name != "" {
		r.cfg.Metrics.Integration(t.name, o)
	}
	switch {
	case o.Failed:
		s := metrics.Summary{Integrations: 1, Failed: 1, Attempts: o.Attempts}
		if o.Attempts > 0 {
			s.Requested = 1
		}
		r.cfg.Metrics.Run(s)
	case t.own: // the function's own integration
		r.cfg.Metrics.Run(metrics.Summary{Integrations: 1, Rotated: 1, MinTTL: o.TTL})
	}
}
