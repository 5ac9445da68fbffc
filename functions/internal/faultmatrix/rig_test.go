package faultmatrix

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/stsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

const (
	clientID = "faultmatrix-client"
	// clientSecret is a sentinel: it must appear in no log, error or
	// result, in none of the forms a request carries it in (secretForms).
	// It holds every character those forms change: + / = %, a space and
	// non-ASCII.
	clientSecret = "SENTINEL+client/secret=f4%41u1t é😀"
	// urlKey is a sentinel key in the query of TOKEN_URL and TEST_URL
	// (matrixCase.urlKey): it must appear in no log, error or result.
	urlKey = "SENTINEL-url-key-f4u1t"
	scope  = config.DefaultScope
)

// handler is the Lambda handler, as functions/rotator builds it.
type handler func(context.Context, json.RawMessage) (rotation.Result, error)

// wire builds the handler as functions/rotator does, with the case's own AWS
// configuration and log and metrics buffers.
func wire(getenv func(string) string, awsCfg aws.Config, logger *slog.Logger, metricsOut io.Writer, attempt time.Duration) handler {
	return rotation.NewHandler(getenv, rotation.Setup{AWS: awsCfg, Logger: logger, MetricsOut: metricsOut, FunctionName: "faultmatrix",
		SecretsManagerAttemptTimeout: attempt})
}

// patientAttempt bounds a Secrets Manager attempt in the cases that do not
// test that bound: on a busy machine moto_server can take longer than the
// function's 3 s to answer, and the SDK's retry of a write would then count
// as a second write.
const patientAttempt = 20 * time.Second

// attemptTimeout is the bound on a Secrets Manager attempt in case c: the
// function's own when c makes an attempt time out (a held call, a lost
// answer), patientAttempt otherwise.
func attemptTimeout(c matrixCase) time.Duration {
	if (c.sm != nil && c.sm.Timeout) || (c.native != nil && c.native.lostAnswer != 0) {
		return rotation.SecretsManagerAttemptTimeout
	}
	return patientAttempt
}

// rig is one case's world: its own secrets in the shared moto_server, its
// own fault proxy in front of it, its own IMS emulator, its own logs.
type rig struct {
	c       matrixCase
	direct  *secretsmanager.Client // to moto, past the proxy: seeding and checking
	proxy   *faultproxy.Proxy
	ims     *imsemu.Server
	handle  handler
	build   func() handler // builds another handler, as another Lambda environment would
	credsID string
	tokenID string

	tokenURL  string
	proxyURL  string
	elseURL   string
	elsewhere atomic.Int32 // requests at the redirect target

	seeded secretstore.TokenValue
	// The ARN and version id of each secret seed created, by name.
	arns, versions map[string]string
	logs           syncbuf.Buffer
	metrics        syncbuf.Buffer
	closers        []func()
	faultTok       []string // access tokens inside injected malformed answers

	// A fleet case's integrations, its emulators and the taps around the proxy.
	members   []*member
	emulators []*imsemu.Server
	perClient *clientCounts // token requests at r.ims
	front     *tap          // every call
	back      *tap          // the calls that reached moto
	prefix    string        // INTEGRATION_SECRET_PREFIX

	// A custom-resource case's ResponseURL and the statuses reported to it.
	cfnURL     string
	cfnMu      sync.Mutex
	cfnReports []string

	// A native case's world: the writes that reach moto, TEST_URL and
	// the rotated secret (see nativerig_test.go, nativetaps_test.go).
	writes   *writeTap
	testURL  string
	testMu   sync.Mutex
	testSeen []string // the bearer tokens TEST_URL received
	subject  nativeSubject

	// A private_key_jwt case's KMS key (its ARN) and the assertions sent.
	signingKey string
	assertions *assertionTap
}

// newRig builds case n's world and seeds its secrets.
func newRig(ctx context.Context, moto *motoserver.Server, n int, c matrixCase) (*rig, error) {
	r := &rig{c: c, credsID: fmt.Sprintf("fm/%02d/credentials", n), tokenID: fmt.Sprintf("fm/%02d/token", n),
		arns: map[string]string{}, versions: map[string]string{}}
	r.direct = secretsmanager.NewFromConfig(moto.AWSConfig())

	backend := moto.Endpoint
	switch {
	case c.fleet != nil:
		backend = r.serve(r.tapMoto(moto.Endpoint))
	case c.native != nil:
		r.writes = &writeTap{next: toMoto(moto.Endpoint)}
		backend = r.serve(r.writes)
	}
	proxy, err := faultproxy.New(backend)
	if err != nil {
		r.close()
		return nil, err
	}
	r.proxy = proxy
	var front http.Handler = proxy
	if c.fleet != nil {
		r.front = newTap(proxy)
		front = r.front
	}
	if c.native != nil {
		front = c.native.nativeFront(front)
	}
	proxySrv := httptest.NewServer(front)
	r.closers = append(r.closers, proxySrv.Close, proxy.Close)
	r.proxyURL = proxySrv.URL

	if c.reported != "" {
		r.cfnURL = r.serve(http.HandlerFunc(func(_ http.ResponseWriter, req *http.Request) {
			var report struct{ Status string }
			_ = json.NewDecoder(req.Body).Decode(&report)
			r.cfnMu.Lock()
			r.cfnReports = append(r.cfnReports, report.Status)
			r.cfnMu.Unlock()
		}))
	}
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { r.elsewhere.Add(1) }))
	r.elseURL = elsewhere.URL
	r.closers = append(r.closers, elsewhere.Close)

	clients := map[string]imsemu.Client{clientID: {Secrets: []string{clientSecret}}}
	if c.signing != nil {
		key, pub, err := r.createSigningKey(ctx, moto)
		if err != nil {
			r.close()
			return nil, err
		}
		r.signingKey = key
		clients[clientID] = imsemu.Client{PublicKey: pub, KeyID: signingKeyID, Audience: c.signing.audience}
	}
	if c.native != nil { // acme, when the case rotates an added integration
		clients[clientOf("acme")] = imsemu.Client{Secrets: []string{secretOf("acme")}}
	}
	if c.fleet != nil {
		// Every integration's client; the faults go to the target's own endpoint.
		for _, name := range c.fleet.names()[1:] {
			clients[clientOf(name)] = imsemu.Client{Secrets: []string{secretOf(name)}}
		}
		r.perClient = &clientCounts{}
		r.ims, r.tokenURL, err = r.startIMS(clients, nil, r.perClient)
	} else {
		r.ims, r.tokenURL, err = r.startIMS(clients, c.provider, nil)
		r.inject(r.ims)
	}
	if err != nil {
		r.close()
		return nil, err
	}
	if c.urlKey {
		r.tokenURL += "?key=" + urlKey
	}

	if err := r.seed(ctx, n); err != nil {
		r.close()
		return nil, err
	}
	if c.fleet != nil {
		if err := r.seedFleet(ctx, n); err != nil {
			r.close()
			return nil, err
		}
	}
	if c.native != nil {
		if err := r.seedNative(ctx, n); err != nil {
			r.close()
			return nil, err
		}
	}
	if c.sm != nil && c.native == nil { // a native case injects its fault at its step
		proxy.Inject(r.smRule())
	}

	awsCfg := moto.AWSConfig()
	awsCfg.BaseEndpoint = aws.String(r.proxyURL)
	if c.stsDown != 0 {
		st, err := stsemu.New(stsemu.Config{Subject: "arn:aws:iam::123456789012:role/faultmatrix"})
		if err != nil {
			r.close()
			return nil, err
		}
		st.SetDown(c.stsDown)
		awsCfg.ConfigSources = append(awsCfg.ConfigSources, stsEndpoint(r.serve(st)))
	}
	logger := slog.New(slog.NewJSONHandler(&r.logs, nil))
	attempt := attemptTimeout(c)
	r.build = func() handler { return wire(r.getenv, awsCfg, logger, &r.metrics, attempt) }
	if f := c.fleet; f != nil && (f.concurrency > 0 || f.integrationTimeout > 0) {
		r.build = func() handler {
			return wireBounded(r.getenv, awsCfg, logger, &r.metrics, f.concurrency, f.integrationTimeout, attempt)
		}
	}
	if p := c.native; p != nil && p.integrationTimeout > 0 {
		r.build = func() handler {
			return wireBounded(r.getenv, awsCfg, logger, &r.metrics, 0, p.integrationTimeout, attempt)
		}
	}
	r.handle = r.build()
	return r, nil
}

// stsEndpoint is an SDK configuration source naming STS's endpoint, as
// AWS_ENDPOINT_URL_STS does: the STS stand-in, while Secrets Manager goes
// through the fault proxy.
type stsEndpoint string

func (e stsEndpoint) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	return string(e), sdkID == "STS", nil
}

// startIMS starts an IMS emulator for clients, shaped by provider, behind
// a front that answers the case's redirect and, if counts is set, counts
// requests per client; it returns the emulator and its token URL.
func (r *rig) startIMS(clients map[string]imsemu.Client, provider func(*imsemu.Config), counts *clientCounts) (*imsemu.Server, string, error) {
	emu := imsemu.Config{Clients: clients}
	if provider != nil {
		provider(&emu)
	}
	if s := r.c.signing; s != nil {
		// Okta takes private_key_jwt (IMS does not), as Auth0, Entra ID
		// and Keycloak do.
		emu.Profile, _ = imsemu.ProfileNamed("okta")
		if s.clock != 0 {
			emu.Now = func() time.Time { return time.Now().Add(s.clock) }
		}
	}
	path := imsemu.TokenPath
	if emu.Profile.Path != "" {
		path = emu.Profile.Path
	}
	ims, err := imsemu.New(emu)
	if err != nil {
		return nil, "", err
	}
	r.emulators = append(r.emulators, ims)
	var front http.Handler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if r.c.redirect != 0 {
			http.Redirect(w, req, r.elseURL+"/steal", r.c.redirect)
			return
		}
		ims.ServeHTTP(w, req)
	})
	if counts != nil {
		front = counts.wrap(front)
	}
	if r.c.signing != nil && r.assertions == nil {
		r.assertions = &assertionTap{next: front, replay: r.c.signing.replay}
		front = r.assertions
	}
	imsSrv := httptest.NewUnstartedServer(front)
	imsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	if r.c.tls {
		imsSrv.StartTLS()
	} else {
		imsSrv.Start()
	}
	r.closers = append(r.closers, imsSrv.Close, ims.Close) // ims.Close first: it releases hung requests
	return ims, imsSrv.URL + path, nil
}

// inject gives ims the case's IMS faults, and notes the tokens inside them.
func (r *rig) inject(ims *imsemu.Server) {
	ims.Enqueue(r.c.ims...)
	if r.c.imsEvery != nil {
		ims.SetFault(*r.c.imsEvery)
	}
	for _, f := range append(append([]imsemu.Fault(nil), r.c.ims...), deref(r.c.imsEvery)...) {
		r.faultTok = append(r.faultTok, tokensIn(f.Body)...)
	}
}

// smRule is the case's Secrets Manager fault: at the function's own
// secrets, or at a fleet target's, or at the listing.
func (r *rig) smRule() faultproxy.Rule {
	credsID, tokenID := r.credsID, r.tokenID
	if r.c.fleet != nil {
		if m := r.member(r.c.fleet.target); m != nil {
			credsID, tokenID = m.credsID, m.tokenID
		}
	}
	rule := faultproxy.Rule{Target: faultproxy.GetSecretValue, SecretID: credsID, Fault: *r.c.sm, Times: r.c.smTimes}
	switch r.c.smAt {
	case readToken:
		rule.SecretID = tokenID
	case writeToken:
		rule.Target, rule.SecretID = faultproxy.PutSecretValue, tokenID
	case listIntegrations:
		rule.Target, rule.SecretID = listSecrets, ""
	case signAssertion:
		rule.Target, rule.SecretID = faultproxy.KMSSign, ""
	case readPublicKey:
		rule.Target, rule.SecretID = faultproxy.KMSGetPublicKey, ""
	}
	return rule
}

// serve serves h on a loopback port until the case ends, and returns its URL.
func (r *rig) serve(h http.Handler) string {
	srv := httptest.NewServer(h)
	r.closers = append(r.closers, srv.Close)
	return srv.URL
}

// getenv is the function's environment: the case's secrets and token
// endpoint, then the case's overrides.
func (r *rig) getenv(name string) string {
	env := map[string]string{
		config.EnvCredentialsSecretID:     r.credsID,
		config.EnvTokenSecretID:           r.tokenID,
		config.EnvTokenURL:                r.tokenURL,
		config.EnvIntegrationSecretPrefix: r.prefix,
		config.EnvTestURL:                 r.testURL,
	}
	if v, ok := r.c.env[name]; ok {
		if v == credentialsPlaceholder {
			return r.credsID
		}
		return v
	}
	if v, ok := r.signingEnv(name); ok {
		return v
	}
	return env[name]
}

// seed creates both secrets, the token secret holding a valid token.
func (r *rig) seed(ctx context.Context, n int) error {
	r.seeded = seededToken(r.c.stored, clientID, fmt.Sprintf("SENTINEL-seeded-token-%02d", n))
	value, err := json.Marshal(r.seeded)
	if err != nil {
		return err
	}
	creds := fmt.Sprintf(`{"client_id":%q,"client_secret":%q}`, clientID, clientSecret)
	if s := r.c.signing; r.c.stsDown != 0 || s != nil && !s.alsoSecret {
		creds = fmt.Sprintf(`{"client_id":%q}`, clientID)
	}
	for id, v := range map[string]string{r.credsID: creds, r.tokenID: string(value)} {
		out, err := r.direct.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(v)})
		if err != nil {
			return fmt.Errorf("creating %s: %w", id, err)
		}
		r.arns[id], r.versions[id] = aws.ToString(out.ARN), aws.ToString(out.VersionId)
	}
	return nil
}

// seededToken is a valid token for client, as old as s says.
func seededToken(s stored, client, accessToken string) secretstore.TokenValue {
	now := time.Now().UTC().Truncate(time.Second)
	issued := map[stored]time.Time{
		storedOld:     now.Add(-2 * time.Hour),
		storedFresh:   now.Add(-10 * time.Minute),
		storedExpired: now.Add(-25 * time.Hour),
		storedFuture:  now.Add(2 * time.Hour),
	}[s]
	return secretstore.TokenValue{
		AccessToken: accessToken,
		TokenType:   "bearer",
		IssuedAt:    issued,
		Expiry:      issued.Add(24 * time.Hour),
		ClientID:    client,
		Scope:       scope,
	}
}

// close stops the case's servers, newest first.
func (r *rig) close() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		r.closers[i]()
	}
}

// snapshot is the token secret's state, read past the proxy.
type snapshot struct {
	current, previous string // version ids
	versions          int
	value             string // AWSCURRENT's SecretString
}

func (r *rig) snapshot(ctx context.Context) (snapshot, error) { return r.snapshotOf(ctx, r.tokenID) }

// snapshotOf is the state of the token secret id, read past the proxy.
func (r *rig) snapshotOf(ctx context.Context, id string) (snapshot, error) {
	var s snapshot
	list, err := r.direct.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(id)})
	if err != nil {
		return s, fmt.Errorf("listing versions: %w", err)
	}
	s.versions = len(list.Versions)
	for _, v := range list.Versions {
		for _, stage := range v.VersionStages {
			switch stage {
			case "AWSCURRENT":
				s.current = aws.ToString(v.VersionId)
			case "AWSPREVIOUS":
				s.previous = aws.ToString(v.VersionId)
			}
		}
	}
	out, err := r.direct.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return s, fmt.Errorf("reading AWSCURRENT of %s: %w", id, err)
	}
	s.value = aws.ToString(out.SecretString)
	return s, nil
}

// tokensIn returns the access_token of a JSON answer, if it has one long
// enough to be told apart from ordinary text.
func tokensIn(body []byte) []string {
	var v struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(body, &v) != nil || len(strings.TrimSpace(v.AccessToken)) < 8 {
		return nil
	}
	return []string{v.AccessToken}
}

func deref(f *imsemu.Fault) []imsemu.Fault {
	if f == nil {
		return nil
	}
	return []imsemu.Fault{*f}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
