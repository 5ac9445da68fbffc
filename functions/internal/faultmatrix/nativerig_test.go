package faultmatrix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/rotationservice"
)

// nativeSubject is the secret a native case rotates, as seeded.
type nativeSubject struct {
	arn    string // as Secrets Manager names it in the events
	client string // its integration's client; empty for a foreign secret
	// version and value are its AWSCURRENT, as seeded.
	version, value string
	// aliases are its ids and the other secrets' and URLs', made canonical
	// in what the operator sees; sentinels are secret material seeded for
	// the case, which must appear nowhere.
	aliases   [][2]string
	sentinels []string
}

// nativeRecord is what a native case did, beside its deliveries.
type nativeRecord struct {
	subject  nativeSubject
	version  string // the rotation's version (ClientRequestToken)
	old      string // AWSCURRENT's version before the case
	unknown  string // a version id the secret does not have
	begun    int    // rotations begun
	initial  stageSnapshot
	acts     []actRecord
	testURLs []string // the bearer tokens TEST_URL received
	// noTestURL says TEST_URL must receive nothing (protocol.ownTokenURL).
	noTestURL bool
	// sentinels are the case's secret material besides the client secret
	// and the tokens the provider issued.
	sentinels []string
}

// actRecord is one act: its deliveries, rec.deliveries[from:to], and the
// rotated secret after them.
type actRecord struct {
	from, to int
	after    stageSnapshot
}

// stageSnapshot is the rotated secret as a consumer and Secrets Manager
// see it, read past the proxy.
type stageSnapshot struct {
	stages  map[string][]string // DescribeSecret's VersionIdsToStages
	current string              // the version a plain GetSecretValue returns
	value   string              // its value
	pending string              // the rotation's version's value, if it has one
}

// seedNative creates what a native case rotates besides the function's own
// secrets, and its TEST_URL server.
func (r *rig) seedNative(ctx context.Context, n int) error {
	p := r.c.native
	if p.testURL != nil {
		r.testURL = r.serveTestURL(p.testURL) + "/me"
		if r.c.urlKey {
			r.testURL += "?key=" + urlKey
		}
	}
	ownToken, ownCreds := r.arns[r.tokenID], r.arns[r.credsID]
	seeded, err := json.Marshal(r.seeded)
	if err != nil {
		return err
	}
	s := nativeSubject{arn: ownToken, client: clientID, version: r.versions[r.tokenID], value: string(seeded),
		aliases: [][2]string{{ownToken, "app/token"}, {ownCreds, "app/credentials"}, {r.testURL, "$TEST_URL"}, {withoutQuery(r.testURL), "$TEST_URL"}}}
	switch p.secret {
	case foreignSecret:
		value := fmt.Sprintf("SENTINEL-foreign-value-%02d", n)
		out, err := r.direct.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(fmt.Sprintf("fm/%02d/other", n)), SecretString: aws.String(value)})
		if err != nil {
			return fmt.Errorf("creating another secret: %w", err)
		}
		s.arn, s.version, s.value = aws.ToString(out.ARN), aws.ToString(out.VersionId), value
		s.client, s.sentinels = "", []string{value}
		s.aliases = append(s.aliases, [2]string{s.arn, "app/other"})
	case addedSecret, sharedSecret, ownNameSecret:
		r.prefix = fmt.Sprintf("fm/%02d/integrations/", n)
		name := "acme"
		if p.secret == ownNameSecret {
			name = integration.DefaultName
		}
		creds, added, err := r.seedAdded(ctx, n, name, "", &s)
		if err != nil {
			return err
		}
		s.arn, s.client, s.version, s.value = added.arn, clientOf(name), added.version, added.value
		if p.ownTokenURL {
			// The same emulator, spelt as another provider's endpoint.
			value := fmt.Sprintf(`{"client_id":%q,"client_secret":%q,"token_url":%q}`, clientOf(name), secretOf(name),
				strings.Replace(r.tokenURL, "127.0.0.1", "localhost", 1))
			if _, err := r.direct.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(creds), SecretString: aws.String(value)}); err != nil {
				return fmt.Errorf("giving %s a token_url: %w", name, err)
			}
		}
		if p.secret == sharedSecret {
			if _, _, err := r.seedAdded(ctx, n, "globex", creds, &s); err != nil {
				return err
			}
		}
		s.aliases = append(s.aliases, [2]string{r.prefix, "app/integrations/"})
	}
	r.subject = s
	return nil
}

// seedAdded adds integration name under the prefix, as make
// integration-add leaves it, holding a valid token: with a credentials
// secret of its own, or, if creds is set, tagged with that one. It
// returns its credentials secret's ARN and its token secret's ARN,
// version and value, and adds their aliases and sentinels to s.
func (r *rig) seedAdded(ctx context.Context, n int, name, creds string, s *nativeSubject) (credsARN string, token nativeSubject, err error) {
	client, secret := clientOf(name), secretOf(name)
	if creds == "" {
		value := fmt.Sprintf(`{"client_id":%q,"client_secret":%q}`, client, secret)
		if creds, err = r.create(ctx, fmt.Sprintf("fm/%02d/%s/credentials", n, name), value, nil); err != nil {
			return "", token, err
		}
		s.aliases = append(s.aliases, [2]string{creds, "app/" + name + "/credentials"})
	}
	tags := []types.Tag{{Key: aws.String(integration.TagCredentials), Value: aws.String(creds)}}
	if token.arn, err = r.create(ctx, r.prefix+name, "{}", tags); err != nil {
		return "", token, err
	}
	seeded := fmt.Sprintf("SENTINEL-seeded-token-%02d-%s", n, name)
	value, err := json.Marshal(seededToken(storedOld, client, seeded))
	if err != nil {
		return "", token, err
	}
	out, err := r.direct.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(token.arn), SecretString: aws.String(string(value))})
	if err != nil {
		return "", token, fmt.Errorf("storing %s's token: %w", name, err)
	}
	token.version, token.value = aws.ToString(out.VersionId), string(value)
	s.aliases = append(s.aliases, [2]string{token.arn, "app/integrations/" + name})
	s.sentinels = append(s.sentinels, secret, seeded)
	return creds, token, nil
}

// runNative begins the case's rotation, plants what it says, and runs its
// acts, recording each delivery and the secret after each act.
func (r *rig) runNative(ctx context.Context) ([]delivery, *nativeRecord, error) {
	p := r.c.native
	nr := &nativeRecord{subject: r.subject, unknown: rotationservice.NewUUID(), sentinels: r.subject.sentinels, noTestURL: p.ownTokenURL}
	rot := rotationservice.Rotation{SecretARN: nr.subject.arn, Version: rotationservice.NewUUID(), RotationToken: rotationservice.NewUUID()}
	var err error
	if !p.notBegun {
		svc := rotationservice.Service{SM: r.direct}
		if rot, err = svc.Begin(ctx, nr.subject.arn); err != nil {
			return nil, nil, err
		}
		nr.begun = 1
	}
	nr.version = rot.Version
	nr.sentinels = append(nr.sentinels, rot.RotationToken)
	// The secret as seeded, begun and planted: moto is what bounds the
	// matrix's time, so it is not read back; the first read after an act
	// compares with it.
	nr.old = nr.subject.version
	nr.initial = stageSnapshot{current: nr.old, value: nr.subject.value, stages: map[string][]string{nr.old: {secretstore.StageCurrent}}}
	if !p.notBegun {
		nr.initial.stages[nr.version] = []string{secretstore.StagePending}
	}
	if p.planted != nil {
		if nr.initial.pending, err = r.plant(ctx, nr, p.planted); err != nil {
			return nil, nil, err
		}
	}

	var out []delivery
	injected := r.c.sm == nil
	send := func(step string, v version, times int) []delivery {
		if !injected && (p.at == "" || p.at == step) {
			r.proxy.Inject(r.nativeRule())
			injected = true
		}
		return r.deliverStep(ctx, rotationservice.Event{Step: step, SecretID: nr.subject.arn,
			ClientRequestToken: nr.versionID(v), RotationToken: rot.RotationToken}, times)
	}
	last := nr.initial
	for i, a := range p.acts {
		from, writes := len(out), r.writes.len()
		for _, step := range a.eventSteps() {
			times := 1
			if a.kind == together || a.atOnce == step {
				times = 2
			}
			ds := send(step, a.version, times)
			out = append(out, ds...)
			if a.twice == step && succeeded(ds) {
				ds = send(step, a.version, 1)
				out = append(out, ds...)
			}
			if a.kind == rotate && !succeeded(ds) {
				break
			}
		}
		// moto is what bounds the matrix's time: read the secret again only
		// if a write reached it during the act, and after the last act.
		var put, moved bool
		for _, w := range r.writes.since(writes) {
			put = put || (w.ok() && w.target == faultproxy.PutSecretValue)
			moved = moved || w.movesCurrent()
		}
		if r.writes.len() > writes || i == len(p.acts)-1 {
			if last, err = r.stageSnapshot(ctx, last, nr.version, moved, put); err != nil {
				return nil, nil, err
			}
		}
		nr.acts = append(nr.acts, actRecord{from: from, to: len(out), after: last})
	}
	nr.testURLs = r.testTokens()
	return out, nr, nil
}

// versionID is the version id an event names.
func (nr *nativeRecord) versionID(v version) string {
	switch v {
	case unknownVersion:
		return nr.unknown
	case oldVersion:
		return nr.old
	}
	return nr.version
}

func succeeded(ds []delivery) bool {
	for _, d := range ds {
		if d.err != nil || d.panicked != "" {
			return false
		}
	}
	return true
}

// deliverStep invokes the handler with the step's event, times at once,
// and records each delivery with the writes that reached moto, the calls
// the proxy faulted and the token requests made meanwhile.
func (r *rig) deliverStep(ctx context.Context, ev rotationservice.Event, times int) []delivery {
	payload, _ := json.Marshal(ev) // strings only
	writes, faulted := r.writes.len(), r.proxy.Faulted("")
	requests, issued, metrics := r.ims.Requests(), len(r.ims.Issued()), len(r.metrics.String())
	out := make([]delivery, times)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() { out[i] = invoke(ctx, r.handle, string(payload)) })
	}
	wg.Wait()
	for i := range out {
		d := &out[i]
		d.step, d.writes, d.faulted, d.atOnce = ev.Step, r.writes.since(writes), r.proxy.Faulted("")-faulted, times
		d.tokenRequests, d.issued = r.ims.Requests()-requests, r.ims.Issued()[issued:]
		d.metrics = r.metrics.String()[metrics:]
	}
	return out
}

// nativeRule is the case's Secrets Manager fault, on the rotated secret's
// calls, or on the credentials read.
func (r *rig) nativeRule() faultproxy.Rule {
	rule := faultproxy.Rule{SecretID: r.subject.arn, Fault: *r.c.sm, Times: r.c.smTimes}
	switch r.c.smAt {
	case describeSecret:
		rule.Target = faultproxy.DescribeSecret
	case readPending:
		rule.Target = faultproxy.GetSecretValue
	case writePending:
		rule.Target = faultproxy.PutSecretValue
	case moveStage:
		rule.Target = faultproxy.UpdateSecretVersionStage
	default:
		rule.Target, rule.SecretID = faultproxy.GetSecretValue, r.credsID
	}
	return rule
}

// plant stores someone else's token in the rotation's version, as
// AWSPENDING, before any step, and returns the value.
func (r *rig) plant(ctx context.Context, nr *nativeRecord, p *plant) (string, error) {
	now := time.Now().UTC().Truncate(time.Second)
	token := "SENTINEL-planted-token-" + nr.version[:8]
	value, err := json.Marshal(secretstore.TokenValue{AccessToken: token, TokenType: "bearer",
		IssuedAt: now.Add(-p.issued), Expiry: now.Add(-p.issued + p.life), ClientID: p.client, Scope: p.scope})
	if err != nil {
		return "", err
	}
	if _, err := r.direct.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(nr.subject.arn),
		ClientRequestToken: aws.String(nr.version), SecretString: aws.String(string(value)),
		VersionStages: []string{secretstore.StagePending}}); err != nil {
		return "", fmt.Errorf("planting a pending value: %w", err)
	}
	nr.sentinels = append(nr.sentinels, token)
	return string(value), nil
}

// stageSnapshot reads the rotated secret past the proxy, from what it was
// before: what a plain read returns; its stages, if AWSCURRENT moved; the
// value of version, if a PutSecretValue stored one.
func (r *rig) stageSnapshot(ctx context.Context, before stageSnapshot, version string, moved, put bool) (stageSnapshot, error) {
	s := before
	id := aws.String(r.subject.arn)
	if moved {
		desc, err := r.direct.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: id})
		if err != nil {
			return s, fmt.Errorf("describing the rotated secret: %w", err)
		}
		s.stages = desc.VersionIdsToStages
	}
	cur, err := r.direct.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: id})
	if err != nil {
		return s, fmt.Errorf("reading the rotated secret: %w", err)
	}
	s.current, s.value = aws.ToString(cur.VersionId), aws.ToString(cur.SecretString)
	switch {
	case version == s.current:
		s.pending = s.value
	case !put:
	default:
		v, err := r.direct.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: id, VersionId: aws.String(version)})
		var nf *types.ResourceNotFoundException
		switch {
		case errors.As(err, &nf):
		case err != nil:
			return s, fmt.Errorf("reading the rotation's version: %w", err)
		default:
			s.pending = aws.ToString(v.SecretString)
		}
	}
	return s, nil
}

// serveTestURL starts the TEST_URL server, which answers as t says, and
// returns its URL. Its normal answer is 204 to a bearer token the
// provider issued, 401 to any other.
func (r *rig) serveTestURL(t *testURL) string {
	var n atomic.Int32
	stop := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		token, _ := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		r.testMu.Lock()
		r.testSeen = append(r.testSeen, token)
		r.testMu.Unlock()
		i := int(n.Add(1)) - 1
		a := t.every
		if i < len(t.first) {
			a = &t.first[i]
		}
		switch {
		case a == nil && slices.ContainsFunc(r.ims.Issued(), func(is imsemu.Issued) bool { return is.AccessToken == token }):
			w.WriteHeader(http.StatusNoContent)
		case a == nil:
			w.WriteHeader(http.StatusUnauthorized)
		case a.hang:
			select {
			case <-req.Context().Done():
			case <-stop:
			}
		case a.redirect != "":
			http.Redirect(w, req, a.redirect, http.StatusFound)
		default:
			w.WriteHeader(a.status)
		}
	})
	srv := httptest.NewServer(h)
	r.closers = append(r.closers, srv.Close, func() { close(stop) })
	return srv.URL
}

// testTokens returns the bearer tokens TEST_URL received.
func (r *rig) testTokens() []string {
	r.testMu.Lock()
	defer r.testMu.Unlock()
	return slices.Clone(r.testSeen)
}
