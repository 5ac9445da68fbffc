package stack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/rie"
)

// Names the stack uses.
const (
	// CredentialsSecretID is the credentials secret's name.
	CredentialsSecretID = "tokenrotator/credentials"
	// TokenSecretID is the token secret's name.
	TokenSecretID = "tokenrotator/token"
	// ClientID is the client registered with the IMS emulator.
	ClientID = "demo-client"
	// Scope is the scope the rotator asks for by default; the emulator
	// allows it and the management scopes (imsemu.ManagementScopes).
	Scope = "openid,AdobeID,read_organizations"
	// OrgID and CredentialID place the client under the IMS emulator's I/O
	// Management API calls, and are in the credentials secret (org_id,
	// credential_id), so that a rotation event for the credentials secret
	// rotates the client secret, as on a stack deployed with
	// ClientSecretRotation adobe.
	OrgID        = "DEMOORG0000@AdobeOrg"
	CredentialID = "demo-credential"
	// FunctionTimeout is the function timeout the emulator enforces.
	FunctionTimeout = 60 * time.Second
	// StackName stands for the CloudFormation stack's name: the value of
	// the tokenrotator:stack tags of added integrations.
	StackName = "tokenrotator"
	// FunctionName is the function's name (AWS_LAMBDA_FUNCTION_NAME), as
	// its metrics and the stale alarms name it.
	FunctionName = "tokenrotator"
	// IntegrationSecretPrefix is the function's INTEGRATION_SECRET_PREFIX:
	// the token secrets of added integrations are named with it.
	IntegrationSecretPrefix = "tokenrotator/integrations/"
	// AlarmTopicARN stands for the stack's AlarmTopicArn output; nothing
	// listens on it locally.
	AlarmTopicARN = "arn:aws:sns:us-east-1:123456789012:tokenrotator-alarms"
)

// Config tunes Start. Its zero value is what make run uses, without
// progress lines.
type Config struct {
	// Dir receives the built binaries; empty means a temporary directory
	// that Close removes. A Dir holding aws-lambda-rie already skips that
	// build.
	Dir string
	// Progress, if not nil, receives one line per step.
	Progress io.Writer
	// Output, if not nil, also receives the emulator's and bootstrap's
	// output as it comes (Stack.Output has it all anyway).
	Output io.Writer
	// Env is added to the function's environment last, e.g. MIN_TOKEN_AGE
	// or TOKEN_AUTH=basic; INTEGRATION_SECRET_PREFIX= turns the added
	// integrations off.
	Env []string
}

// Stack is the running local flow.
type Stack struct {
	// Moto is the Secrets Manager stand-in.
	Moto *motoserver.Server
	// IMS is the token endpoint emulator: faults, counters, issued tokens.
	IMS *imsemu.Server
	// TokenURL is the emulator's token endpoint, as the function sees it.
	TokenURL string
	// Lambda is the function under the Runtime Interface Emulator.
	Lambda *rie.Emulator
	// Secrets talks to Moto.
	Secrets *secretsmanager.Client

	clientSecret   string
	credentialsARN string     // the credentials secret's, as CreateSecret answered
	function       rie.Config // how Lambda was started; StartEmulator reuses it
	imsHTTP        *httptest.Server
	tempDir        string
	eventsDir      string
	closeOnce      sync.Once

	mu        sync.Mutex
	providers []*Provider // started by StartProvider, closed by Close

	metrics *metricForwarder // sends Lambda's EMF lines to moto_server (emf.go)
}

// Start brings the stack up: it builds the emulator and the bootstrap
// while moto_server starts, starts the IMS emulator, creates the two
// secrets and starts the function. On failure it stops what it started.
func Start(ctx context.Context, cfg Config) (_ *Stack, err error) {
	st := &Stack{}
	defer func() {
		if err != nil {
			st.Close()
		}
	}()
	root, err := rie.ModuleRoot(ctx)
	if err != nil {
		return nil, err
	}
	st.eventsDir = filepath.Join(root, "infra", "events")
	dir := cfg.Dir
	if dir == "" {
		if st.tempDir, err = os.MkdirTemp("", "tokenrotator-local-"); err != nil {
			return nil, fmt.Errorf("making a build directory: %w", err)
		}
		dir = st.tempDir
	}

	buildCtx, cancelBuilds := context.WithCancel(ctx)
	defer cancelBuilds()
	builds := startBuilds(buildCtx, dir, cfg.Progress)
	defer func() {
		if err != nil {
			cancelBuilds()
			<-builds.done
		}
	}()
	say(cfg.Progress, "starting moto_server (Secrets Manager)")
	if st.Moto, err = motoserver.Start(ctx); err != nil {
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	st.Secrets = secretsmanager.NewFromConfig(st.Moto.AWSConfig())
	say(cfg.Progress, "moto_server on "+st.Moto.Endpoint)

	if err := st.startIMS(); err != nil {
		return nil, err
	}
	say(cfg.Progress, "IMS emulator on "+st.TokenURL)

	if err := st.createSecrets(ctx); err != nil {
		return nil, err
	}
	say(cfg.Progress, fmt.Sprintf("created secrets %s (client %s, random client secret) and %s (no value)", CredentialsSecretID, ClientID, TokenSecretID))

	<-builds.done
	if builds.err != nil {
		return nil, builds.err
	}
	env := append(st.Moto.Env(),
		"CREDENTIALS_SECRET_ID="+CredentialsSecretID,
		"TOKEN_SECRET_ID="+TokenSecretID,
		"TOKEN_URL="+st.TokenURL,
		"INTEGRATION_SECRET_PREFIX="+IntegrationSecretPrefix,
		// As a stack deployed with ClientSecretRotation adobe: a rotation
		// event for the credentials secret rotates the client secret at
		// the emulator's management calls.
		"CLIENT_SECRET_ROTATION=adobe",
		"MANAGEMENT_URL="+st.imsHTTP.URL,
		"AWS_LAMBDA_LOG_FORMAT=JSON",
		// Keep the developer's own AWS settings out of the function.
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
	)
	env = append(env, cfg.Env...)
	st.function = rie.Config{RIE: builds.rie, Bootstrap: builds.bootstrap, Env: env, FunctionName: FunctionName, Timeout: FunctionTimeout, Output: cfg.Output}
	st.Lambda, err = rie.Start(ctx, st.forwardMetrics(st.function))
	if err != nil {
		return nil, err
	}
	say(cfg.Progress, "Runtime Interface Emulator on "+st.Lambda.URL)
	return st, nil
}

// builds holds the outcome of the two builds, once done is closed.
type builds struct {
	done           chan struct{}
	rie, bootstrap string
	err            error
}

// startBuilds builds the emulator and the bootstrap in the background.
func startBuilds(ctx context.Context, dir string, progress io.Writer) *builds {
	b := &builds{done: make(chan struct{})}
	go func() {
		defer close(b.done)
		var wg sync.WaitGroup
		var rieErr, bootErr error
		wg.Go(func() { b.rie, rieErr = rie.Build(ctx, dir, progress) })
		wg.Go(func() { b.bootstrap, bootErr = rie.BuildBootstrap(ctx, dir, progress) })
		wg.Wait()
		b.err = errors.Join(rieErr, bootErr)
	}()
	return b
}

// startIMS serves the emulator on a loopback port, with the client and a
// fresh random secret; the client may mint management tokens for its own
// credential (OrgID, CredentialID).
func (st *Stack) startIMS() error {
	st.clientSecret = randomSecret()
	scopes := strings.Split(Scope, ",")
	for _, s := range strings.Split(imsemu.ManagementScopes, ",") {
		if !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	emu, err := imsemu.New(imsemu.Config{Clients: map[string]imsemu.Client{
		ClientID: {Secrets: []string{st.clientSecret}, Scopes: scopes, OrgID: OrgID, CredentialID: CredentialID},
	}})
	if err != nil {
		return fmt.Errorf("setting up the IMS emulator: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listening for the IMS emulator: %w", err)
	}
	st.IMS = emu
	st.imsHTTP = &httptest.Server{Listener: l, Config: &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}}
	st.imsHTTP.Start()
	st.TokenURL = st.imsHTTP.URL + imsemu.TokenPath
	return nil
}

// createSecrets creates the credentials secret with a value and the token
// secret without one.
func (st *Stack) createSecrets(ctx context.Context) error {
	creds, err := json.Marshal(map[string]string{"client_id": ClientID, "client_secret": st.clientSecret,
		"org_id": OrgID, "credential_id": CredentialID})
	if err != nil {
		return fmt.Errorf("encoding the credentials: %w", err)
	}
	out, err := st.Secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(CredentialsSecretID), SecretString: aws.String(string(creds)),
	})
	if err != nil {
		return fmt.Errorf("creating secret %s: %w", CredentialsSecretID, err)
	}
	st.credentialsARN = aws.ToString(out.ARN)
	if _, err := st.Secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(TokenSecretID), Description: aws.String("OAuth token written by the rotator"),
	}); err != nil {
		return fmt.Errorf("creating secret %s: %w", TokenSecretID, err)
	}
	return nil
}

// ClientSecret returns the client secret Start registered and stored, for
// tests that check it leaks nowhere; a client-secret rotation replaces it
// (the credentials secret's versions then hold the new one). Never print
// it.
func (st *Stack) ClientSecret() string {
	return st.clientSecret
}

// Output returns what the Runtime Interface Emulator and the bootstrap
// wrote so far.
func (st *Stack) Output() string {
	if st.Lambda == nil {
		return ""
	}
	return st.Lambda.Output()
}

// Close stops the function, the token endpoints StartProvider started, the
// IMS emulator and moto_server, and removes the temporary build directory.
// It is safe to call twice.
func (st *Stack) Close() error {
	st.closeOnce.Do(func() {
		if st.Lambda != nil {
			st.Lambda.Close()
		}
		st.mu.Lock()
		for _, p := range st.providers {
			p.close()
		}
		st.mu.Unlock()
		if st.IMS != nil {
			st.IMS.Close()
		}
		if st.imsHTTP != nil {
			st.imsHTTP.Close()
		}
		if st.Moto != nil {
			st.Moto.Close()
		}
		if st.tempDir != "" {
			_ = os.RemoveAll(st.tempDir)
		}
	})
	return nil
}

// RandomSecret returns a new random client secret, for a client
// registered with an emulator.
func RandomSecret() string { return randomSecret() }

func randomSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return "p8e-" + base64.RawURLEncoding.EncodeToString(b)
}

func say(w io.Writer, line string) {
	if w != nil {
		fmt.Fprintln(w, line)
	}
}
