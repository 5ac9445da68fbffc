package rotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/functions/internal/clientsecret"
	"github.com/tokenrotator/tokenrotator/functions/internal/event"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

// switchTag is the value of integration.TagClientSecretSwitch.
func switchTag(version string, at time.Time) string {
	return version + " " + at.UTC().Format(time.RFC3339Nano)
}

// parseSwitch reads a switch tag's value.
func parseSwitch(value string) (version string, at time.Time, err error) {
	version, stamp, ok := strings.Cut(value, " ")
	if ok {
		at, err = time.Parse(time.RFC3339Nano, stamp)
	}
	if !ok || err != nil || version == "" {
		return "", time.Time{}, fmt.Errorf("tag %s is not \"<version id> <RFC 3339 time>\"", integration.TagClientSecretSwitch)
	}
	return version, at, nil
}

// retireDecision is clientsecret.Retire with a grace for token runs in
// flight: within grace of the switch, a use after it waits rather than
// fails; after that, a use before switched+grace counts as before the
// switch, and a later one as a use after it.
func retireDecision(secrets []clientsecret.Secret, current, pending string, switched, now time.Time, grace time.Duration) (clientsecret.RetireDecision, error) {
	end := switched.Add(grace)
	in := clientsecret.RetireInput{Secrets: secrets, Current: current, Pending: pending, SwitchedAt: end, Now: now}
	if now.Before(end) {
		in.SwitchedAt = switched
	}
	d, err := clientsecret.Retire(in)
	if err == nil || !now.Before(end) {
		return d, err
	}
	var keep []error
	for _, e := range unjoin(err) {
		var used *clientsecret.UsedAfterSwitchError
		if errors.As(e, &used) && used.LastUsedAt.Before(end) {
			d.Wait = true // a run in flight at the switch
			continue
		}
		keep = append(keep, e)
	}
	return d, errors.Join(keep...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// retireAfterSwitch retires the old client secrets of t's credentials
// secret id, when its switch tag names the AWSCURRENT version: those
// provably unused are removed; when only the current one is left, the tag
// goes. A use after the switch fails, the secret and the tag kept.
func (r *Rotator) retireAfterSwitch(ctx context.Context, t target, id string, res Result, log *slog.Logger) (Result, error) {
	v, err := r.cfg.Credentials.Versions(ctx, id)
	if err != nil {
		return res, fmt.Errorf("retiring the old client secret: %w", err)
	}
	var tag string
	for _, tg := range v.Tags {
		if deref(tg.Key) == integration.TagClientSecretSwitch {
			tag = deref(tg.Value)
		}
	}
	if tag == "" {
		res.Reason = strings.TrimPrefix(res.Reason+"; no retirement pending", "; ")
		log.InfoContext(ctx, "client secrets: no retirement pending")
		return res, nil
	}
	version, switched, err := parseSwitch(tag)
	if err != nil {
		return res, fmt.Errorf("credentials secret %q: %w", id, err)
	}
	if current := v.With(secretstore.StageCurrent); current != version {
		res.Reason = strings.TrimPrefix(res.Reason+"; retirement not trusted yet: the switch tag names a version that is not AWSCURRENT", "; ")
		log.InfoContext(ctx, "client secrets: the switch tag names a version that is not AWSCURRENT (a finishSecret did not move it); nothing retired",
			"tagged_version_id", version, "current_version_id", current)
		return res, nil
	}
	cur, _, err := r.readState(ctx, t, version, secretstore.StageCurrent)
	if err != nil {
		return res, fmt.Errorf("retiring the old client secret: %w", err)
	}
	pending := ""
	if pv := v.With(secretstore.StagePending); pv != "" && pv != version {
		if p, found, perr := r.readState(ctx, t, pv, secretstore.StagePending); perr == nil && found {
			pending = p.ids.UUID
		}
	}
	m, err := r.manager(cur) // authenticated by the current secret: a use of the old one is someone else's
	if err != nil {
		return res, fmt.Errorf("retiring the old client secret: %w", err)
	}
	secrets, err := m.List(ctx)
	if err != nil {
		return res, fmt.Errorf("retiring the old client secret: %w", err)
	}
	d, derr := retireDecision(secrets, cur.ids.UUID, pending, switched, r.cfg.Now(), r.switchGrace())
	for _, uuid := range d.Remove {
		if err := removeGone(ctx, m, uuid); err != nil {
			return res, fmt.Errorf("retiring the old client secret: %w", err)
		}
		res.Removed = append(res.Removed, uuid)
		log.InfoContext(ctx, "client secrets: retired an old client secret, unused since the switch", "uuid", uuid, "switched_at", switched)
	}
	if derr != nil {
		return res, fmt.Errorf("retiring the old client secret of credentials secret %q: %w", id, derr)
	}
	if len(d.Keep) > 0 {
		res.Reason = strings.TrimPrefix(res.Reason+"; the old client secret is kept until the next check: used within the grace after the switch (a token run in flight)", "; ")
		log.InfoContext(ctx, "client secrets: old client secret kept for now, used within the grace after the switch", "kept", d.Keep, "switched_at", switched)
		return res, nil
	}
	if err := r.cfg.Credentials.Untag(ctx, id, integration.TagClientSecretSwitch); err != nil {
		return res, fmt.Errorf("retiring the old client secret: all retired, but %w", err)
	}
	res.Reason = strings.TrimPrefix(res.Reason+"; the old client secret is retired", "; ")
	log.InfoContext(ctx, "client secrets: retirement done, only the current client secret is left", "uuid", cur.ids.UUID)
	return res, nil
}

// clientSecrets runs a client_secrets event.
func (r *Rotator) clientSecrets(ctx context.Context, ev event.Event) (res Result, err error) {
	start := r.cfg.Now()
	ctx, cancel := context.WithTimeout(ctx, r.cfg.IntegrationTimeout)
	defer cancel()
	log := r.cfg.Logger.With("client_secrets", ev.ClientSecrets)
	defer func() {
		res.DurationMs = r.cfg.Now().Sub(start).Milliseconds()
		if err != nil {
			res.Error = err.Error()
			log.ErrorContext(ctx, "client secrets: failed", "error", err.Error(), "duration_ms", res.DurationMs)
		}
	}()
	if r.cfg.Credentials == nil {
		return Result{}, errors.New("this function was built without the client-secret rotation's store (Config.Credentials)")
	}
	if ev.ClientSecrets == event.RetireNow {
		return r.retireNow(ctx, ev.Integration, log)
	}
	tagged, err := r.cfg.Credentials.ListTagged(ctx, integration.TagClientSecretSwitch)
	if err != nil {
		return Result{}, fmt.Errorf("client secrets: %w", err)
	}
	var errs []error
	mine, skipped := 0, 0
	for _, s := range tagged {
		t, ok, terr := r.credentialsTarget(ctx, s.ARN, s.Name)
		if terr == nil && !ok {
			// ListSecrets sees the whole account: another stack's
			// credentials secret is its own function's to retire.
			skipped++
			log.InfoContext(ctx, "client secrets: skipped a credentials secret with a retirement pending that is no integration's of this function (another stack's)",
				"credentials_secret_id", s.ARN)
			continue
		}
		mine++
		l := log.With("integration", t.name, "credentials_secret_id", s.ARN)
		one := Result{Integration: t.name, CredentialsSecretID: s.ARN}
		if err = terr; err == nil {
			one, err = r.retireAfterSwitch(withIntegration(ctx, t.name), t, s.ARN, one, l)
		}
		if err != nil {
			one.Error = err.Error()
			errs = append(errs, err)
		}
		res.Removed = append(res.Removed, one.Removed...)
		res.Integrations = append(res.Integrations, one)
	}
	res.Reason = fmt.Sprintf("%d credentials secret(s) with a retirement pending", mine)
	if skipped > 0 {
		res.Reason += fmt.Sprintf("; %d of another function skipped", skipped)
	}
	return res, errors.Join(errs...)
}

// retireNow removes every client secret of the integration name's
// credential except the one in AWSCURRENT, whatever its last use.
func (r *Rotator) retireNow(ctx context.Context, name string, log *slog.Logger) (Result, error) {
	s := r.cfg.Settings
	var t target
	switch {
	case name == s.Integration && s.CredentialsSecretID != "":
		t = r.ownTarget()
	case s.IntegrationSecretPrefix == "" || r.cfg.Directory == nil:
		return Result{Integration: name}, fmt.Errorf("retire-now: integration %q is not this function's (%s %q)", name, "INTEGRATION", s.Integration)
	default:
		e, err := r.cfg.Directory.Lookup(ctx, s.IntegrationSecretPrefix, name)
		if err != nil {
			return Result{Integration: name}, fmt.Errorf("retire-now: %w", err)
		}
		if t = r.fromEntry(e); t.problem != "" {
			return Result{Integration: name}, fmt.Errorf("retire-now: %s", t.problem)
		}
	}
	v, err := r.cfg.Credentials.Versions(ctx, t.credentialsSecretID)
	if err != nil {
		return Result{Integration: name}, fmt.Errorf("retire-now: %w", err)
	}
	t.credentialsSecretID = v.ARN
	ctx = withIntegration(ctx, t.name)
	log = log.With("integration", t.name, "credentials_secret_id", v.ARN)
	res := Result{Integration: t.name, CredentialsSecretID: v.ARN}
	cur, _, err := r.readState(ctx, t, "", secretstore.StageCurrent)
	if err != nil {
		return res, fmt.Errorf("retire-now: %w", err)
	}
	m, err := r.manager(cur)
	if err != nil {
		return res, fmt.Errorf("retire-now: %w", err)
	}
	secrets, err := m.List(ctx)
	if err != nil {
		return res, fmt.Errorf("retire-now: %w", err)
	}
	current := cur.ids.UUID
	if current == "" && len(secrets) == 1 {
		current = secrets[0].UUID
	}
	if current == "" || !slices.ContainsFunc(secrets, func(s clientsecret.Secret) bool { return s.UUID == current }) {
		return res, fmt.Errorf("retire-now: nothing removed: the current client secret's uuid (%q, field %q) is not among the credential's secrets; set it to the uuid of the secret in use",
			cur.ids.UUID, "client_secret_uuid")
	}
	res.ClientSecretUUID = current
	for _, sec := range secrets {
		if sec.UUID == current {
			continue
		}
		if err := removeGone(ctx, m, sec.UUID); err != nil {
			return res, fmt.Errorf("retire-now: %w", err)
		}
		res.Removed = append(res.Removed, sec.UUID)
		log.WarnContext(ctx, "retire-now: removed a client secret that is not the current one, on the operator's command", "uuid", sec.UUID, "last_used_at", sec.LastUsedAt)
	}
	if err := r.cfg.Credentials.Untag(ctx, v.ARN, integration.TagClientSecretSwitch); err != nil {
		return res, fmt.Errorf("retire-now: removed %d, but %w", len(res.Removed), err)
	}
	res.Reason = fmt.Sprintf("removed %d client secret(s); only the current one is left", len(res.Removed))
	return res, nil
}

// removeGone removes uuid; a failed remove after which uuid is no longer
// listed (a concurrent delivery removed it) is done all the same.
func removeGone(ctx context.Context, m clientsecret.Manager, uuid string) error {
	err := m.Remove(ctx, uuid)
	if err == nil {
		return nil
	}
	if secrets, lerr := m.List(ctx); lerr == nil && !slices.ContainsFunc(secrets, func(s clientsecret.Secret) bool { return s.UUID == uuid }) {
		return nil
	}
	return err
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
