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
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

const (
	clientID = "faultmatrix-client"
	// clientSecret is a sentinel: it must appear in no log, error or result.
	clientSecret = "SENTINEL-client-secret-f4u1t"
	scope        = config.DefaultScope
)

// handler is the Lambda handler, as functions/rotator builds it.
type handler func(context.Context, json.RawMessage) (rotation.Result, error)

// wire builds the handler as functions/rotator does, with the case's own AWS
// configuration and log and metrics buffers.
func wire(getenv func(string) string, awsCfg aws.Config, logger *slog.Logger, metricsOut io.Writer) handler {
	return rotation.NewHandler(getenv, rotation.Setup{AWS: awsCfg, Logger: logger, MetricsOut: metricsOut, FunctionName: "faultmatrix"})
}

// rig is one case's world: its own secrets in the shared moto_server, its
// own fault proxy in front of it, its own IMS emulator, its own logs.
type rig struct {
	c       matrixCase
	direct  *secretsmanager.Client // to moto, past the proxy: seeding and checking
	proxy   *faultproxy.Proxy
	ims     *imsemu.Server
	handle  handler
	credsID string
	tokenID string

	tokenURL  string
	proxyURL  string
	elseURL   string
	elsewhere atomic.Int32 // requests at the redirect target

	seeded   secretstore.TokenValue
	logs     syncbuf.Buffer
	metrics  syncbuf.Buffer
	closers  []func()
	faultTok []string // access tokens inside injected malformed answers
}

// newRig builds case n's world and seeds its secrets.
func newRig(ctx context.Context, moto *motoserver.Server, n int, c matrixCase) (*rig, error) {
	r := &rig{c: c, credsID: fmt.Sprintf("fm/%02d/credentials", n), tokenID: fmt.Sprintf("fm/%02d/token", n)}
	r.direct = secretsmanager.NewFromConfig(moto.AWSConfig())

	proxy, err := faultproxy.New(moto.Endpoint)
	if err != nil {
		return nil, err
	}
	r.proxy = proxy
	proxySrv := httptest.NewServer(proxy)
	r.closers = append(r.closers, proxySrv.Close, proxy.Close)
	r.proxyURL = proxySrv.URL

	emu := imsemu.Config{Clients: map[string]imsemu.Client{clientID: {Secrets: []string{clientSecret}}}}
	if c.provider != nil {
		c.provider(&emu)
	}
	ims, err := imsemu.New(emu)
	if err != nil {
		r.close()
		return nil, err
	}
	r.ims = ims
	elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { r.elsewhere.Add(1) }))
	r.elseURL = elsewhere.URL
	r.closers = append(r.closers, elsewhere.Close)
	front := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if c.redirect != 0 {
			http.Redirect(w, req, elsewhere.URL+"/steal", c.redirect)
			return
		}
		ims.ServeHTTP(w, req)
	})
	imsSrv := httptest.NewUnstartedServer(front)
	imsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	if c.tls {
		imsSrv.StartTLS()
	} else {
		imsSrv.Start()
	}
	r.closers = append(r.closers, imsSrv.Close, ims.Close) // ims.Close first: it releases hung requests
	r.tokenURL = imsSrv.URL + imsemu.TokenPath

	ims.Enqueue(c.ims...)
	if c.imsEvery != nil {
		ims.SetFault(*c.imsEvery)
	}
	for _, f := range append(append([]imsemu.Fault(nil), c.ims...), deref(c.imsEvery)...) {
		r.faultTok = append(r.faultTok, tokensIn(f.Body)...)
	}

	if err := r.seed(ctx, n); err != nil {
		r.close()
		return nil, err
	}
	if c.sm != nil {
		id := r.credsID
		target := faultproxy.GetSecretValue
		switch c.smAt {
		case readToken:
			id = r.tokenID
		case writeToken:
			id, target = r.tokenID, faultproxy.PutSecretValue
		}
		proxy.Inject(faultproxy.Rule{Target: target, SecretID: id, Fault: *c.sm, Times: c.smTimes})
	}

	awsCfg := moto.AWSConfig()
	awsCfg.BaseEndpoint = aws.String(r.proxyURL)
	logger := slog.New(slog.NewJSONHandler(&r.logs, nil))
	r.handle = wire(r.getenv, awsCfg, logger, &r.metrics)
	return r, nil
}

// getenv is the function's environment: the case's secrets and token
// endpoint, then the case's overrides.
func (r *rig) getenv(name string) string {
	env := map[string]string{
		config.EnvCredentialsSecretID: r.credsID,
		config.EnvTokenSecretID:       r.tokenID,
		config.EnvTokenURL:            r.tokenURL,
	}
	if v, ok := r.c.env[name]; ok {
		if v == credentialsPlaceholder {
			return r.credsID
		}
		return v
	}
	return env[name]
}

// seed creates both secrets, the token secret holding a valid token.
func (r *rig) seed(ctx context.Context, n int) error {
	now := time.Now().UTC().Truncate(time.Second)
	issued := map[stored]time.Time{
		storedOld:     now.Add(-2 * time.Hour),
		storedFresh:   now.Add(-10 * time.Minute),
		storedExpired: now.Add(-25 * time.Hour),
		storedFuture:  now.Add(2 * time.Hour),
	}[r.c.stored]
	r.seeded = secretstore.TokenValue{
		AccessToken: fmt.Sprintf("SENTINEL-seeded-token-%02d", n),
		TokenType:   "bearer",
		IssuedAt:    issued,
		Expiry:      issued.Add(24 * time.Hour),
		ClientID:    clientID,
		Scope:       scope,
	}
	value, err := json.Marshal(r.seeded)
	if err != nil {
		return err
	}
	creds := fmt.Sprintf(`{"client_id":%q,"client_secret":%q}`, clientID, clientSecret)
	for id, v := range map[string]string{r.credsID: creds, r.tokenID: string(value)} {
		if _, err := r.direct.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(id), SecretString: aws.String(v)}); err != nil {
			return fmt.Errorf("creating %s: %w", id, err)
		}
	}
	return nil
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

func (r *rig) snapshot(ctx context.Context) (snapshot, error) {
	var s snapshot
	list, err := r.direct.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(r.tokenID)})
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
	out, err := r.direct.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(r.tokenID)})
	if err != nil {
		return s, fmt.Errorf("reading AWSCURRENT: %w", err)
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
