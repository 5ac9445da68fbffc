package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/functions/internal/clientsecret"
	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/event"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

// The client-secret rotation, the rotation protocol's second entry: when
// the step's secret is a credentials secret (the function's own, or an
// added integration's, found through the token secret that names it), the
// four steps rotate the client secret at its provider (clientsecret.Plan
// and Retire decide; a clientsecret.Manager carries it out):
//
//   - createSecret lists the secrets, removes orphans, adds one (sent once)
//     and stores the whole credentials JSON as AWSPENDING with the new
//     client_secret, client_secret_uuid and client_secret_previous_uuid;
//     every other field is kept.
//   - setSecret has nothing to set: the provider made the secret.
//   - testSecret mints a token with the pending secret and the
//     integration's settings, and keeps none.
//   - finishSecret tags the switch (integration.TagClientSecretSwitch),
//     moves AWSCURRENT, and retires the old secret at once when it is
//     provably unused; a use within SwitchGrace of the switch (a token run
//     in flight) waits for the scheduled check ({"client_secrets":
//     "retire"}), and a later one fails loudly, keeping the secret.

// CredentialStore is what the client-secret rotation needs of a
// credentials secret; see secretstore.CredentialStore. It must be safe for
// concurrent use.
type CredentialStore interface {
	Versions(ctx context.Context, id string) (secretstore.Versions, error)
	ReadVersion(ctx context.Context, id, version, stage string) (value, versionID string, found bool, err error)
	WriteVersion(ctx context.Context, id, version, rotationToken, value string) error
	MakeCurrent(ctx context.Context, id, to, from string) error
	DropPending(ctx context.Context, id, version string) error
	Tag(ctx context.Context, id, key, value string) error
	Untag(ctx context.Context, id, key string) error
	ListTagged(ctx context.Context, key string) ([]secretstore.Tagged, error)
}

// ManagerRequest is what a Manager is built from: the integration's
// settings (ClientSecretRotation says which provider, ManagementURL where),
// the credential's ids and the client with the secret it authenticates
// with.
type ManagerRequest struct {
	Provider    config.Provider
	IDs         config.ClientSecretIDs
	Credentials oauthtoken.Credentials
}

// Defaults of the client-secret rotation's Config fields.
const (
	// DefaultSwitchGrace is how long after the switch a use of the old
	// secret is taken for a token run that read it before: twice
	// DefaultIntegrationTimeout, which bounds a run, for clock skew.
	DefaultSwitchGrace = 2 * DefaultIntegrationTimeout
)

// credState is a credentials secret's version as the rotation reads it.
type credState struct {
	versionID string
	raw       map[string]json.RawMessage // every field, as stored
	creds     secretstore.Credentials
	p         config.Provider
	ids       config.ClientSecretIDs
}

// clientSecretStep runs step ev on t's credentials secret v.
func (r *Rotator) clientSecretStep(ctx context.Context, t target, v secretstore.Versions, ev event.Rotation, res Result, log *slog.Logger) (Result, error) {
	res.CredentialsSecretID, res.TokenSecretID = v.ARN, ""
	done, err := checkStages(v, ev)
	if err != nil {
		return res, err
	}
	if done != "" {
		if ev.Step != event.StepFinish {
			res.Reason = done
			log.InfoContext(ctx, "client-secret rotation step: nothing to do", "reason", done)
			return res, nil
		}
		// A redelivered finishSecret after the move: retire again.
		if v.Has(ev.ClientRequestToken, secretstore.StagePending) {
			r.dropCredentialsPending(ctx, v.ARN, ev.ClientRequestToken, log)
		}
		return r.retireAfterSwitch(ctx, t, v.ARN, res, log)
	}
	switch ev.Step {
	case event.StepCreate:
		return r.createClientSecret(ctx, t, v, ev, res, log)
	case event.StepSet:
		res.Reason = "nothing to set at the provider: the new client secret was made there by createSecret"
		log.InfoContext(ctx, "setSecret: nothing to set at the provider, createSecret made the client secret there")
		return res, nil
	case event.StepTest:
		return r.testClientSecret(ctx, t, v, ev, res, log)
	default:
		return r.finishClientSecret(ctx, t, v, ev, res, log)
	}
}

// credentialsTarget finds the integration whose credentials secret v is:
// the function's own (CREDENTIALS_SECRET_ID, by ARN or name), or an added
// one's, whose token secret names v's ARN in its TagCredentials tag. ok is
// false when v is neither.
func (r *Rotator) credentialsTarget(ctx context.Context, arn, name string) (t target, ok bool, err error) {
	s := r.cfg.Settings
	if s.CredentialsSecretID != "" && (s.CredentialsSecretID == arn || s.CredentialsSecretID == name) {
		return target{name: s.Integration, credentialsSecretID: arn, tokenSecretID: s.TokenSecretID, own: true}, true, nil
	}
	if s.IntegrationSecretPrefix == "" || r.cfg.Directory == nil {
		return target{}, false, nil
	}
	entries, err := r.cfg.Directory.List(ctx, s.IntegrationSecretPrefix)
	if err != nil {
		return target{}, false, fmt.Errorf("finding the integration whose credentials secret %q is: %w", arn, err)
	}
	var found []target
	for _, e := range entries {
		if e.CredentialsSecretID == arn {
			found = append(found, r.fromEntry(e))
		}
	}
	switch {
	case len(found) == 0:
		return target{}, false, nil
	case len(found) > 1:
		return found[0], true, fmt.Errorf("credentials secret %q backs %d integrations (%s and %s): a credentials secret may back one integration only; nothing changed",
			arn, len(found), found[0].name, found[1].name)
	case found[0].problem != "":
		return found[0], true, errors.New(found[0].problem)
	}
	found[0].credentialsSecretID = arn
	return found[0], true, nil
}

// readState reads version (or, when empty, the one with stage) of t's
// credentials secret and its settings; the client-secret rotation must be
// on for it, with org_id and credential_id set.
func (r *Rotator) readState(ctx context.Context, t target, version, stage string) (credState, bool, error) {
	value, versionID, found, err := r.cfg.Credentials.ReadVersion(ctx, t.credentialsSecretID, version, stage)
	if err != nil || !found {
		return credState{}, found, err
	}
	st, err := r.parseState(ctx, t, value)
	if err != nil {
		return credState{}, true, fmt.Errorf("credentials secret %q, version %q (%s): %w", t.credentialsSecretID, versionID, stage, err)
	}
	st.versionID = versionID
	return st, true, nil
}

func (r *Rotator) parseState(ctx context.Context, t target, value string) (credState, error) {
	var st credState
	var err error
	if st.creds, err = secretstore.ParseCredentials(value); err != nil {
		return st, err
	}
	_ = json.Unmarshal([]byte(value), &st.raw) // ParseCredentials read it as an object
	if st.p, err = r.settings(ctx, t, st.creds); err != nil {
		return st, err
	}
	if st.p.ClientSecretRotation == "" {
		return st, fmt.Errorf("client-secret rotation is off for integration %q: set %s (or the field %q) to %q to rotate its client secret; nothing changed",
			t.name, config.EnvClientSecretRotation, config.SettingKey(config.EnvClientSecretRotation), config.RotationAdobe)
	}
	if st.ids, err = config.ReadClientSecretIDs(st.creds.Fields, true); err != nil {
		return st, err
	}
	return st, nil
}

// manager builds the Manager that authenticates with st's client secret.
func (r *Rotator) manager(st credState) (clientsecret.Manager, error) {
	if r.cfg.Managers == nil {
		return nil, errors.New("this function was built without client-secret managers (Config.Managers)")
	}
	m, err := r.cfg.Managers(ManagerRequest{Provider: st.p, IDs: st.ids, Credentials: st.creds.Credentials})
	if err != nil {
		return nil, fmt.Errorf("building the client-secret manager: %w", err)
	}
	return m, nil
}

// createClientSecret adds a client secret and stores the credentials with
// it as the pending version, unless that version holds one already.
func (r *Rotator) createClientSecret(ctx context.Context, t target, v secretstore.Versions, ev event.Rotation, res Result, log *slog.Logger) (Result, error) {
	cur, _, err := r.readState(ctx, t, "", secretstore.StageCurrent)
	if err != nil {
		return res, fmt.Errorf("createSecret: %w", err)
	}
	res.ClientID = cur.creds.ClientID
	pend, found, err := r.readState(ctx, t, ev.ClientRequestToken, secretstore.StagePending)
	if err != nil {
		return res, fmt.Errorf("createSecret: %w; a version's value cannot be replaced: cancel this rotation (aws secretsmanager cancel-rotate-secret) and rotate again", err)
	}
	if found && pend.ids.UUID == "" {
		return res, fmt.Errorf("createSecret: version %q holds credentials without %q; a version's value cannot be replaced: cancel this rotation (aws secretsmanager cancel-rotate-secret) and rotate again",
			ev.ClientRequestToken, config.FieldSecretUUID)
	}
	m, err := r.manager(cur)
	if err != nil {
		return res, fmt.Errorf("createSecret: %w", err)
	}
	secrets, err := m.List(ctx)
	if err != nil {
		return res, fmt.Errorf("createSecret: %w", err)
	}
	plan, err := clientsecret.Plan(clientsecret.CreateInput{Secrets: secrets, Current: cur.ids.UUID, Pending: pend.ids.UUID})
	if err != nil {
		return res, fmt.Errorf("createSecret: nothing added: %w", err)
	}
	if found {
		if plan.Reuse != pend.ids.UUID {
			return res, fmt.Errorf("createSecret: version %q holds client secret %q, which the credential no longer lists; cancel this rotation (aws secretsmanager cancel-rotate-secret) and rotate again",
				ev.ClientRequestToken, pend.ids.UUID)
		}
		res.ClientSecretUUID = plan.Reuse
		res.Reason = "the pending version already holds a new client secret: nothing added"
		log.InfoContext(ctx, "createSecret: the pending version already holds a new client secret, nothing added", "uuid", plan.Reuse)
		return res, nil
	}
	now := r.cfg.Now()
	for _, uuid := range plan.Remove {
		i := slices.IndexFunc(secrets, func(s clientsecret.Secret) bool { return s.UUID == uuid })
		if age := now.Sub(secrets[i].CreatedAt); age < r.orphanAge() {
			return res, fmt.Errorf("createSecret: nothing added: client secret %q, never used, was added %s ago: another delivery of this step may be storing it; it is removed as an orphan once %s old (retry later)",
				uuid, age.Round(time.Second), r.orphanAge())
		}
		if err := m.Remove(ctx, uuid); err != nil {
			return res, fmt.Errorf("createSecret: removing orphan client secret %q: %w", uuid, err)
		}
		res.Removed = append(res.Removed, uuid)
		log.InfoContext(ctx, "createSecret: removed an orphan client secret (never used, left by an add whose answer or storing was lost)", "uuid", uuid)
	}
	added, err := m.Add(ctx)
	if err != nil {
		if errors.Is(err, clientsecret.ErrAddUnknown) {
			return res, fmt.Errorf("createSecret: %w (the retry lists the secrets again and removes the orphan)", err)
		}
		return res, fmt.Errorf("createSecret: %w", err)
	}
	res.ClientSecretUUID = added.UUID
	body, err := withNewSecret(cur, added, plan.Current)
	if err != nil {
		return res, r.dropAdded(ctx, m, added.UUID, fmt.Errorf("createSecret: %w", err), log)
	}
	if err := r.writes.wait(ctx); err != nil {
		return res, r.dropAdded(ctx, m, added.UUID, fmt.Errorf("createSecret: client secret added but not stored: waiting for a write slot: %w", err), log)
	}
	werr := r.cfg.Credentials.WriteVersion(ctx, v.ARN, ev.ClientRequestToken, ev.RotationToken, body)
	if werr == nil {
		res.Reason = "new client secret added and stored as the pending version"
		log.InfoContext(ctx, "createSecret: new client secret stored as AWSPENDING", "uuid", added.UUID, "previous_uuid", plan.Current)
		return res, nil
	}
	// The write may have been carried out (a lost answer), or a concurrent
	// delivery may have stored its own secret first: read what is there.
	again, stored, rerr := r.readState(ctx, t, ev.ClientRequestToken, secretstore.StagePending)
	switch {
	case rerr != nil:
		return res, fmt.Errorf("createSecret: client secret %q added, its storing unknown: %w (and reading the version back: %v); the retry removes it if it is an orphan", added.UUID, werr, rerr)
	case stored && again.ids.UUID == added.UUID:
		res.Reason = "new client secret added and stored as the pending version (the write's answer was lost)"
		log.InfoContext(ctx, "createSecret: the write answered an error, yet the version holds the new client secret", "uuid", added.UUID, "error", werr.Error())
		return res, nil
	case stored:
		res.ClientSecretUUID = again.ids.UUID
		res.Reason = "a concurrent delivery of this step stored its client secret first: the one added here is removed"
		log.InfoContext(ctx, "createSecret: a concurrent delivery stored its client secret first", "uuid", again.ids.UUID)
		if err := m.Remove(ctx, added.UUID); err != nil {
			return res, fmt.Errorf("createSecret: a concurrent delivery stored client secret %q first; removing the one added here, %q: %w", again.ids.UUID, added.UUID, err)
		}
		res.Removed = append(res.Removed, added.UUID)
		return res, nil
	}
	return res, r.dropAdded(ctx, m, added.UUID, fmt.Errorf("createSecret: client secret added but not stored: %w", werr), log)
}

// dropAdded removes a secret this step added and could not store, so that
// the retry starts from the secrets before; if that fails too, the
// retry's Plan removes it as an orphan. It returns err.
func (r *Rotator) dropAdded(ctx context.Context, m clientsecret.Manager, uuid string, err error, log *slog.Logger) error {
	if rerr := m.Remove(ctx, uuid); rerr != nil {
		log.WarnContext(ctx, "createSecret: the client secret added could not be removed; the retry removes it as an orphan", "uuid", uuid, "error", rerr.Error())
		return fmt.Errorf("%w (client secret %q is left, for the retry to remove)", err, uuid)
	}
	log.InfoContext(ctx, "createSecret: removed the client secret just added, as it was not stored", "uuid", uuid)
	return fmt.Errorf("%w (client secret %q, just added, removed again)", err, uuid)
}

// withNewSecret is st's value with added as its client secret: every
// other field kept as stored.
func withNewSecret(st credState, added clientsecret.Added, previous string) (string, error) {
	out := make(map[string]json.RawMessage, len(st.raw)+3)
	for k, v := range st.raw {
		out[k] = v
	}
	key := "client_secret"
	if _, ok := out[key]; !ok {
		if _, managed := out["clientSecret"]; managed {
			key = "clientSecret" // a managed external secret's spelling
		}
	}
	set := func(k, v string) {
		b, _ := json.Marshal(v)
		out[k] = b
	}
	set(key, added.Value)
	set(config.FieldSecretUUID, added.UUID)
	set(config.FieldPreviousUUID, previous)
	if added.ExpiresAt.IsZero() {
		delete(out, config.FieldSecretExpiresAt)
	} else {
		set(config.FieldSecretExpiresAt, added.ExpiresAt.UTC().Format(time.RFC3339))
	}
	b, err := json.Marshal(out)
	if err != nil {
		return "", errors.New("encoding the credentials secret's new value failed") // never quotes it
	}
	return string(b), nil
}

// testClientSecret mints a token with the pending secret and keeps none.
func (r *Rotator) testClientSecret(ctx context.Context, t target, v secretstore.Versions, ev event.Rotation, res Result, log *slog.Logger) (Result, error) {
	pend, found, err := r.readState(ctx, t, ev.ClientRequestToken, secretstore.StagePending)
	switch {
	case err != nil:
		return res, fmt.Errorf("testSecret: %w", err)
	case !found:
		return res, fmt.Errorf("testSecret: the pending version %q has no value: createSecret has not stored a client secret in it; AWSCURRENT stays", ev.ClientRequestToken)
	}
	res.ClientID, res.ClientSecretUUID = pend.creds.ClientID, pend.ids.UUID
	start := r.cfg.Now()
	tok, err := r.cfg.Fetchers(pend.p).Fetch(ctx, pend.creds.Credentials)
	res.TokenRequestMs = r.cfg.Now().Sub(start).Milliseconds()
	if err != nil {
		return res, fmt.Errorf("testSecret: minting a token with the pending client secret %q at %s: %w; AWSCURRENT stays",
			pend.ids.UUID, config.ShowURL(pend.p.TokenURL), err)
	}
	res.TokenRequestAttempts = tok.Attempts
	res.Reason = "a token was minted with the pending client secret; none is kept"
	log.InfoContext(ctx, "testSecret: the pending client secret mints a token (not kept)", "uuid", pend.ids.UUID, "debug_id", tok.DebugID)
	return res, nil
}

// finishClientSecret tags the switch, moves AWSCURRENT and retires.
func (r *Rotator) finishClientSecret(ctx context.Context, t target, v secretstore.Versions, ev event.Rotation, res Result, log *slog.Logger) (Result, error) {
	pend, found, err := r.readState(ctx, t, ev.ClientRequestToken, secretstore.StagePending)
	switch {
	case err != nil:
		return res, fmt.Errorf("finishSecret: %w", err)
	case !found:
		return res, fmt.Errorf("finishSecret: the pending version %q has no value; AWSCURRENT stays", ev.ClientRequestToken)
	}
	res.ClientID, res.ClientSecretUUID = pend.creds.ClientID, pend.ids.UUID
	current := v.With(secretstore.StageCurrent)
	switched := r.cfg.Now().UTC()
	if err := r.cfg.Credentials.Tag(ctx, v.ARN, integration.TagClientSecretSwitch, switchTag(ev.ClientRequestToken, switched)); err != nil {
		return res, fmt.Errorf("finishSecret: marking the switch before it: %w; AWSCURRENT stays", err)
	}
	if err := r.cfg.Credentials.MakeCurrent(ctx, v.ARN, ev.ClientRequestToken, current); err != nil {
		after, derr := r.cfg.Credentials.Versions(ctx, v.ARN)
		if derr != nil || !after.Has(ev.ClientRequestToken, secretstore.StageCurrent) {
			return res, fmt.Errorf("finishSecret: %w", err)
		}
		log.InfoContext(ctx, "finishSecret: the move of AWSCURRENT answered an error, yet the version is AWSCURRENT (a lost answer, or a concurrent delivery)", "error", err.Error())
	}
	r.dropCredentialsPending(ctx, v.ARN, ev.ClientRequestToken, log)
	res.Rotated, res.PreviousVersionID = true, current
	log.InfoContext(ctx, "finishSecret: the new client secret is AWSCURRENT", "uuid", pend.ids.UUID, "previous_version_id", current)
	return r.retireAfterSwitch(ctx, t, v.ARN, res, log)
}

func (r *Rotator) dropCredentialsPending(ctx context.Context, id, version string, log *slog.Logger) {
	if err := r.cfg.Credentials.DropPending(ctx, id, version); err != nil {
		log.WarnContext(ctx, "finishSecret: AWSPENDING left on the current version", "error", err.Error())
	}
}

func (r *Rotator) orphanAge() time.Duration {
	if r.cfg.OrphanAge > 0 {
		return r.cfg.OrphanAge
	}
	return 2 * r.cfg.IntegrationTimeout
}

func (r *Rotator) switchGrace() time.Duration {
	if r.cfg.SwitchGrace > 0 {
		return r.cfg.SwitchGrace
	}
	return DefaultSwitchGrace
}
