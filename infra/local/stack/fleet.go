package stack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// CredentialsSecretPrefix names the credentials secrets AddIntegration
// creates: CredentialsSecretPrefix + the integration's name.
const CredentialsSecretPrefix = "tokenrotator/credentials/"

// OpsFlags returns the flags that point the integration command
// (infra/ops/cmd/integration) at this stack, in place of a deployed stack's
// outputs: its name, the function's name, the secret prefix, the alarm
// topic, its own credentials secret's ARN, and the Runtime Interface
// Emulator as the Lambda endpoint.
func (st *Stack) OpsFlags() []string {
	return []string{
		"-stack", StackName,
		"-function", FunctionName,
		"-prefix", IntegrationSecretPrefix,
		"-alarm-topic", AlarmTopicARN,
		"-stack-credentials", st.credentialsARN,
		"-lambda-endpoint", st.Lambda.URL,
	}
}

// Ops runs the integration command's subcommand (add, remove or rotate)
// against this stack, as make integration-add, make integration-remove and
// make rotate run it against a deployed one: the same flag parsing, clients
// and steps, with OpsFlags and moto_server's AWS configuration. It returns
// what the command printed, and its error.
func (st *Stack) Ops(ctx context.Context, subcommand string, args ...string) (string, error) {
	if st.Lambda == nil || st.Moto == nil {
		return "", errors.New("running the integration command: the stack is not started")
	}
	var out bytes.Buffer
	cli := ops.CLI{Out: &out, Err: &out, LoadAWS: func(context.Context) (aws.Config, error) { return st.Moto.AWSConfig(), nil }}
	err := cli.Run(ctx, append(append([]string{subcommand}, st.OpsFlags()...), args...))
	return out.String(), err
}

// AddIntegration creates the credentials secret CredentialsSecretPrefix+name
// holding credentialsJSON (client_id, client_secret and any per-integration
// settings such as token_url), then adds the integration name with
// Ops("add", ...), which tags it, creates the token secret and the stale
// alarm, and runs the first rotation. It returns what the command printed;
// the error is the command's, such as an *ops.FirstRotationError when the
// first rotation failed (the integration then stays added).
func (st *Stack) AddIntegration(ctx context.Context, name string, credentialsJSON []byte) (string, error) {
	id := CredentialsSecretPrefix + name
	out, err := st.Secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(id), SecretString: aws.String(string(credentialsJSON)),
		Description: aws.String("OAuth client credentials of integration " + name),
	})
	if err != nil {
		return "", fmt.Errorf("creating credentials secret %s: %w", id, err)
	}
	return st.Ops(ctx, "add", "-name", name, "-credentials", aws.ToString(out.ARN))
}

// IntegrationToken reads the AWSCURRENT value of the token secret of the
// added integration name.
func (st *Stack) IntegrationToken(ctx context.Context, name string) (StoredToken, error) {
	return st.tokenVersion(ctx, IntegrationSecretPrefix+name, "", "AWSCURRENT")
}

// Provider is one more token endpoint emulator, for integrations of
// another provider than the stack's IMS emulator.
type Provider struct {
	// Emu is the emulator: clients, faults, counters, issued tokens.
	Emu *imsemu.Server
	// URL is its base URL, http://127.0.0.1:PORT; the token endpoint is
	// URL + the profile's Path (with any {placeholder} filled in).
	URL string

	srv *httptest.Server
}

// TokenURL is the token endpoint of a profile whose path has no
// {placeholder}.
func (p *Provider) TokenURL() string { return p.URL + p.Emu.Path() }

func (p *Provider) close() {
	p.Emu.Close()
	p.srv.Close()
}

// StartProvider serves one more token endpoint emulator, playing profile
// with clients, on a loopback port. Close stops it.
func (st *Stack) StartProvider(profile imsemu.Profile, clients map[string]imsemu.Client) (*Provider, error) {
	emu, err := imsemu.New(imsemu.Config{Profile: profile, Clients: clients})
	if err != nil {
		return nil, fmt.Errorf("setting up the %s token endpoint: %w", profile.Name, err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		emu.Close()
		return nil, fmt.Errorf("listening for the %s token endpoint: %w", profile.Name, err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: emu, ReadHeaderTimeout: 10 * time.Second}}
	srv.Start()
	p := &Provider{Emu: emu, URL: srv.URL, srv: srv}
	st.mu.Lock()
	st.providers = append(st.providers, p)
	st.mu.Unlock()
	return p, nil
}
