package faultmatrix

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/event"
	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/rotationservice"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

// The client-secret rotation's world: the function's own integration, an
// Adobe client of the IMS emulator (org_id, credential_id, management
// calls beside the token endpoint), its credentials secret rotated.
const (
	csOrg  = "FM-ORG@AdobeOrg"
	csCred = "fm-cred-01"
	// csOther is a second client secret at the provider (csRotation.other).
	csOther = "SENTINEL-other-client-secret-f4u1t"
	// csBound is the rotator's OrphanAge and SwitchGrace in this area,
	// which NewHandler leaves at 2 × the integration timeout (60 s); an
	// act with wait waits it.
	csBound = 3 * time.Second
)

// csRecord is what a client-secret case did, beside its deliveries.
type csRecord struct {
	acts  []csActRecord
	final csFinal
	// useErrs are the other system's token requests with the old secret that failed.
	useErrs []string
	// names are the aliases of the case's ids, for what the operator sees.
	names [][2]string
}

// csActRecord is one act: its deliveries, rec.deliveries[from:to], and
// the world after them.
type csActRecord struct {
	from, to int
	after    csState
}

// csState is the world after an act, read past the proxy.
type csState struct {
	// table is the secrets at the provider, each named by where it is
	// (old: the seeded one, other: csRotation.other, new: held by a
	// version of the credentials secret, orphan: by none), and each
	// version's stages: "Adobe: old, new | $OLD AWSCURRENT, $VERSION AWSPENDING".
	table   string
	secrets int
	// unlisted says AWSCURRENT names a client_secret_uuid that the
	// provider does not list; token what is wrong with the consumers'
	// token secret, "" when it holds a valid token.
	unlisted bool
	token    string
}

// csFinal is checked once the case's faults are gone: AWSCURRENT's client
// secret mints a token, and a token run stores one.
type csFinal struct {
	mint, tokenRun string // problems, "" when none
	after          csState
}

// csWorld is a client-secret case's world.
type csWorld struct {
	c        matrixCase
	p        *csRotation
	direct   *secretsmanager.Client
	proxy    *faultproxy.Proxy
	ims      *imsemu.Server
	handle   handler
	tokenURL string
	mgmtURL  string
	credsARN string
	tokenARN string
	names    [2]string // the two secrets' names
	rot      rotationservice.Rotation
	old      string // AWSCURRENT's version before the case
	oldUUID  string
	other    string // csRotation.other's uuid

	logs, metrics syncbuf.Buffer
	closers       []func()
	// added are the client secrets the provider's add answers carried;
	// values every client_secret a version of the credentials secret held.
	mu      sync.Mutex
	added   map[string]string // uuid → value
	values  []string
	useErrs []string
	// useOld, when set, makes the next list another system's cue to mint
	// a token with the old client secret (csAct.oldUsed).
	useOld atomic.Bool
}

// runClientSecret builds case n's world, runs its acts, and records.
func runClientSecret(moto *motoserver.Server, n int, c matrixCase) record {
	ctx := context.Background()
	w := &csWorld{c: c, p: c.clientSecret, direct: secretsmanager.NewFromConfig(moto.AWSConfig()), added: map[string]string{}}
	defer w.close()
	if err := w.build(ctx, moto, n); err != nil {
		return record{setupErr: err}
	}
	rec := record{credsID: w.names[0], tokenID: w.names[1], tokenURL: w.tokenURL, proxyURL: "", cs: &csRecord{}}
	var err error
	if rec.deliveries, rec.cs.acts, err = w.run(ctx); err != nil {
		return record{setupErr: err}
	}
	// The faults gone, AWSCURRENT must mint and a token run must store a token.
	w.ims.ClearFault()
	w.proxy.Clear()
	rec.cs.final.mint = w.mintCurrent(ctx)
	d := invoke(ctx, w.handle, forced)
	d.step = "token run"
	if d.err != nil {
		rec.cs.final.tokenRun = "failed: " + d.err.Error() // redacted by the checks that print it
	} else if !d.res.Rotated {
		rec.cs.final.tokenRun = "stored no token: " + d.res.Reason
	}
	rec.deliveries = append(rec.deliveries, d)
	if rec.cs.final.after, err = w.state(ctx); err != nil {
		return record{setupErr: err}
	}
	rec.logs, rec.metrics = w.logs.String(), w.metrics.String()
	rec.issued = w.ims.Issued()
	rec.requests = w.ims.Requests()
	_, held, err := w.versionValues(ctx) // notes the last values too
	if err != nil {
		return record{setupErr: err}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	rec.cs.useErrs = slices.Clone(w.useErrs)
	rec.faultTok = append(rec.faultTok, w.rot.RotationToken, csOther)
	for _, v := range w.values {
		if v != clientSecret { // its forms are checked already
			rec.faultTok = append(rec.faultTok, v)
		}
	}
	rec.cs.names = [][2]string{{w.tokenURL, "$TOKEN_URL"}, {w.mgmtURL, "$MANAGEMENT_URL"},
		{w.credsARN, "app/credentials"}, {w.tokenARN, "app/token"}, {w.names[0], "app/credentials"}, {w.names[1], "app/token"},
		{w.rot.Version, "$VERSION"}, {w.old, "$OLD"}, {w.oldUUID, "$OLD_UUID"}, {w.other, "$OTHER_UUID"}}
	for uuid, value := range w.added {
		if value != "" {
			rec.faultTok = append(rec.faultTok, value)
		}
		name := "$ADDED_UUID" // added, then removed or never stored
		if slices.Contains(slices.Collect(maps.Values(held)), uuid) {
			name = "$NEW_UUID"
		}
		rec.cs.names = append(rec.cs.names, [2]string{uuid, name})
	}
	return rec
}

// build starts the emulator and the proxy, seeds both secrets, begins the
// rotation and wires the handler.
func (w *csWorld) build(ctx context.Context, moto *motoserver.Server, n int) error {
	secrets := []string{clientSecret}
	if w.p.other {
		secrets = append(secrets, csOther)
	}
	ims, err := imsemu.New(imsemu.Config{Clients: map[string]imsemu.Client{clientID: {Secrets: secrets, OrgID: csOrg, CredentialID: csCred}}})
	if err != nil {
		return err
	}
	w.ims = ims
	imsSrv := httptest.NewServer(w.imsFront(ims))
	w.closers = append(w.closers, imsSrv.Close, ims.Close)
	w.mgmtURL, w.tokenURL = imsSrv.URL, imsSrv.URL+imsemu.TokenPath
	infos, _ := ims.Secrets(clientID)
	w.oldUUID = infos[0].UUID
	if w.p.other {
		w.other = infos[1].UUID
	}

	if w.proxy, err = faultproxy.New(moto.Endpoint); err != nil {
		return err
	}
	proxySrv := httptest.NewServer(w.proxy)
	w.closers = append(w.closers, proxySrv.Close, w.proxy.Close)

	creds := map[string]string{"client_id": clientID, "client_secret": clientSecret, "org_id": csOrg, "credential_id": csCred,
		config.FieldSecretUUID: w.oldUUID}
	if w.p.noUUID {
		delete(creds, config.FieldSecretUUID)
	}
	if w.p.noOrgID {
		delete(creds, "org_id")
	}
	credsJSON, _ := json.Marshal(creds) // strings only
	token, err := json.Marshal(seededToken(storedOld, clientID, fmt.Sprintf("SENTINEL-seeded-token-%02d", n)))
	if err != nil {
		return err
	}
	w.names = [2]string{fmt.Sprintf("fm/%02d/cs-credentials", n), fmt.Sprintf("fm/%02d/cs-token", n)}
	for i, v := range []string{string(credsJSON), string(token)} {
		out, err := w.direct.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(w.names[i]), SecretString: aws.String(v)})
		if err != nil {
			return fmt.Errorf("creating %s: %w", w.names[i], err)
		}
		if i == 0 {
			w.credsARN, w.old = aws.ToString(out.ARN), aws.ToString(out.VersionId)
		} else {
			w.tokenARN = aws.ToString(out.ARN)
		}
	}
	svc := rotationservice.Service{SM: w.direct}
	if w.rot, err = svc.Begin(ctx, w.credsARN); err != nil {
		return err
	}

	awsCfg := moto.AWSConfig()
	awsCfg.BaseEndpoint = aws.String(proxySrv.URL)
	attempt := patientAttempt
	if w.p.sm != nil && w.p.sm.Fault.Timeout {
		attempt = rotation.SecretsManagerAttemptTimeout
	}
	env := map[string]string{
		config.EnvCredentialsSecretID:  w.names[0],
		config.EnvTokenSecretID:        w.names[1],
		config.EnvTokenURL:             w.tokenURL,
		config.EnvClientSecretRotation: config.RotationAdobe,
		config.EnvManagementURL:        w.mgmtURL,
	}
	w.handle = wireClientSecret(func(k string) string { return env[k] }, awsCfg, slog.New(slog.NewJSONHandler(&w.logs, nil)), &w.metrics, attempt)
	return nil
}

// wireClientSecret builds the handler as rotation.NewHandler does, with
// the client-secret rotation's OrphanAge and SwitchGrace at csBound, which
// NewHandler leaves at their defaults.
func wireClientSecret(getenv func(string) string, awsCfg aws.Config, logger *slog.Logger, metricsOut io.Writer, attempt time.Duration) handler {
	cfg, err := config.Load(getenv)
	if err != nil {
		return rotation.Unconfigured(err, logger)
	}
	sm := secretsmanager.NewFromConfig(awsCfg, func(o *secretsmanager.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(attempt)
	})
	store := secretstore.New(sm)
	base := oauthtoken.Config{Logger: logger, Transport: oauthtoken.NewTransport()}
	return rotation.New(rotation.Config{
		Settings:    cfg,
		Store:       store,
		Versions:    store,
		Credentials: secretstore.NewCredentialStore(sm),
		Managers:    rotation.Managers(base),
		Directory:   secretstore.NewDirectory(sm),
		Fetchers:    rotation.NewFetchers(base, rotation.Sources{}),
		Metrics:     metrics.Emitter{W: metricsOut, FunctionName: "faultmatrix"},
		Logger:      logger,
		SwitchGrace: csBound,
		OrphanAge:   csBound,
	}).Handle
}

// imsFront records the client secrets the add answers carry, and, when
// armed, has another system use the old secret before a list goes on.
func (w *csWorld) imsFront(ims *imsemu.Server) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		mgmt := strings.HasPrefix(req.URL.Path, imsemu.ManagementPrefix)
		if mgmt && req.Method == http.MethodGet && w.useOld.CompareAndSwap(true, false) {
			w.otherSystem(req.Context())
		}
		if !mgmt || req.Method != http.MethodPost {
			ims.ServeHTTP(rw, req)
			return
		}
		cw := &captureWriter{ResponseWriter: rw}
		ims.ServeHTTP(cw, req)
		var added struct{ UUID, ClientSecret string }
		if json.Unmarshal(cw.body.Bytes(), &struct {
			UUID         *string `json:"uuid"`
			ClientSecret *string `json:"client_secret"`
		}{&added.UUID, &added.ClientSecret}) == nil && added.UUID != "" {
			w.mu.Lock()
			w.added[added.UUID] = added.ClientSecret
			w.mu.Unlock()
		}
	})
}

// captureWriter copies the answer's body as it passes.
type captureWriter struct {
	http.ResponseWriter
	body bytes.Buffer
}

func (c *captureWriter) Write(b []byte) (int, error) {
	c.body.Write(b)
	return c.ResponseWriter.Write(b)
}

// A carried-out add whose answer is lost resets the connection: the
// capture then sees nothing, so the add is also taken from the listing.
func (w *csWorld) noteOrphans() {
	infos, _ := w.ims.Secrets(clientID)
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, i := range infos {
		if _, ok := w.added[i.UUID]; !ok && i.UUID != w.oldUUID && i.UUID != w.other {
			w.added[i.UUID] = "" // its value was never shown to anyone
		}
	}
}

// otherSystem mints a token with the old client secret, as another system
// sharing the credential does.
func (w *csWorld) otherSystem(ctx context.Context) {
	f := oauthtoken.New(oauthtoken.Config{TokenURL: w.tokenURL, Scope: scope})
	if _, err := f.Fetch(ctx, oauthtoken.Credentials{ClientID: clientID, ClientSecret: clientSecret}); err != nil {
		w.mu.Lock()
		w.useErrs = append(w.useErrs, err.Error())
		w.mu.Unlock()
	}
}

// inject applies the case's faults.
func (w *csWorld) inject() {
	w.ims.EnqueueManagement(w.p.mgmt...)
	if w.p.mgmtEvery != nil {
		w.ims.SetManagementFault(*w.p.mgmtEvery)
	}
	w.ims.Enqueue(w.p.token...)
	if w.p.sm != nil {
		rule := *w.p.sm
		if rule.Target != faultproxy.ListSecrets {
			rule.SecretID = w.credsARN
		}
		w.proxy.Inject(rule)
	}
}

// run runs the case's acts, recording each delivery and the world after
// each act.
func (w *csWorld) run(ctx context.Context) ([]delivery, []csActRecord, error) {
	var out []delivery
	var acts []csActRecord
	injected := false
	send := func(step string, times int) []delivery {
		if !injected && (w.p.at == "" || w.p.at == step) {
			w.inject()
			injected = true
		}
		payload, _ := json.Marshal(rotationservice.Event{Step: step, SecretID: w.rot.SecretARN, ClientRequestToken: w.rot.Version, RotationToken: w.rot.RotationToken})
		return w.deliver(ctx, step, string(payload), times)
	}
	for _, a := range w.p.acts {
		from := len(out)
		if a.wait {
			time.Sleep(csBound)
		}
		switch a.kind {
		case csRotate:
			for _, step := range rotationservice.Steps {
				if a.oldUsed && step == event.StepFinish {
					w.useOld.Store(true)
				}
				ds := send(step, 1)
				out = append(out, ds...)
				if a.twice == step && succeeded(ds) {
					ds = send(step, 1)
					out = append(out, ds...)
				}
				if !succeeded(ds) {
					break
				}
			}
		case csTogether:
			ok := true
			for _, step := range rotationservice.Steps[:slices.Index(rotationservice.Steps, a.step)] {
				ds := send(step, 1)
				out = append(out, ds...)
				if ok = succeeded(ds); !ok {
					break
				}
			}
			if ok {
				out = append(out, send(a.step, 2)...)
			}
		case csRetire, csRetireNow:
			if !injected && w.p.at == "" {
				w.inject()
				injected = true
			}
			if a.oldUsed {
				w.otherSystem(ctx)
			}
			payload := `{"client_secrets": "retire"}`
			if a.kind == csRetireNow {
				payload = `{"client_secrets": "retire-now", "integration": "default"}`
			}
			out = append(out, w.deliver(ctx, "client_secrets", payload, 1)...)
		}
		w.noteOrphans()
		after, err := w.state(ctx)
		if err != nil {
			return nil, nil, err
		}
		acts = append(acts, csActRecord{from: from, to: len(out), after: after})
	}
	return out, acts, nil
}

// deliver invokes the handler with payload, times at once.
func (w *csWorld) deliver(ctx context.Context, step, payload string, times int) []delivery {
	out := make([]delivery, times)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() { out[i] = invoke(ctx, w.handle, payload) })
	}
	wg.Wait()
	for i := range out {
		out[i].step, out[i].atOnce = step, times
	}
	return out
}

// versionValues reads every version of the credentials secret that has a
// stage: its stages and its client_secret_uuid, noting its client_secret
// as secret material.
func (w *csWorld) versionValues(ctx context.Context) (map[string][]string, map[string]string, error) {
	desc, err := w.direct.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(w.credsARN)})
	if err != nil {
		return nil, nil, fmt.Errorf("describing the credentials secret: %w", err)
	}
	uuids := map[string]string{}
	for v, stages := range desc.VersionIdsToStages {
		if len(stages) == 0 {
			continue
		}
		out, err := w.direct.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(w.credsARN), VersionId: aws.String(v)})
		if err != nil || out.SecretString == nil {
			continue // AWSPENDING without a value yet
		}
		var fields struct {
			Secret string `json:"client_secret"`
			UUID   string `json:"client_secret_uuid"`
		}
		_ = json.Unmarshal([]byte(*out.SecretString), &fields)
		uuids[v] = fields.UUID
		w.mu.Lock()
		if fields.Secret != "" && !slices.Contains(w.values, fields.Secret) {
			w.values = append(w.values, fields.Secret)
		}
		w.mu.Unlock()
	}
	return desc.VersionIdsToStages, uuids, nil
}

// state reads the world past the proxy (see csState).
func (w *csWorld) state(ctx context.Context) (csState, error) {
	var s csState
	stages, uuids, err := w.versionValues(ctx)
	if err != nil {
		return s, err
	}
	infos, _ := w.ims.Secrets(clientID)
	s.secrets = len(infos)
	var names, versions []string
	listed := map[string]bool{}
	for _, i := range infos {
		listed[i.UUID] = true
		switch {
		case i.UUID == w.oldUUID:
			names = append(names, "old")
		case i.UUID == w.other:
			names = append(names, "other")
		case slices.Contains(slices.Collect(maps.Values(uuids)), i.UUID):
			names = append(names, "new")
		default:
			names = append(names, "orphan")
		}
	}
	for v, labels := range stages {
		if len(labels) == 0 {
			continue
		}
		name := "another version"
		switch v {
		case w.old:
			name = "$OLD"
		case w.rot.Version:
			name = "$VERSION"
		}
		l := slices.Clone(labels)
		sort.Strings(l)
		versions = append(versions, name+" "+strings.Join(l, "+"))
		if slices.Contains(labels, secretstore.StageCurrent) && uuids[v] != "" && !listed[uuids[v]] {
			s.unlisted = true
		}
	}
	sort.Strings(versions)
	s.table = "Adobe: " + strings.Join(names, ", ") + " | " + strings.Join(versions, ", ")
	out, err := w.direct.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(w.tokenARN)})
	if err != nil {
		return s, fmt.Errorf("reading the token secret: %w", err)
	}
	v, problem := secretstore.ParseToken(aws.ToString(out.SecretString))
	switch {
	case problem != "":
		s.token = "holds no valid token: " + problem
	case v.ClientID != clientID || !v.Expiry.After(time.Now()):
		s.token = fmt.Sprintf("holds a token of client %q that expires at %s", v.ClientID, v.Expiry)
	}
	return s, nil
}

// mintCurrent mints a token with AWSCURRENT's client secret, as the next
// token run does; it returns what went wrong, "" when it minted.
func (w *csWorld) mintCurrent(ctx context.Context) string {
	out, err := w.direct.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(w.credsARN)})
	if err != nil {
		return "reading AWSCURRENT: " + err.Error()
	}
	var fields struct {
		Secret string `json:"client_secret"`
	}
	_ = json.Unmarshal([]byte(aws.ToString(out.SecretString)), &fields)
	f := oauthtoken.New(oauthtoken.Config{TokenURL: w.tokenURL, Scope: scope})
	if _, err := f.Fetch(ctx, oauthtoken.Credentials{ClientID: clientID, ClientSecret: fields.Secret}); err != nil {
		return err.Error()
	}
	return ""
}

func (w *csWorld) close() {
	for i := len(w.closers) - 1; i >= 0; i-- {
		w.closers[i]()
	}
}
