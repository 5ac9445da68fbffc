package faultmatrix

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

// tagTokenURL is a tag no part of tokenrotator reads: a case plants a token
// URL in it to show that tags never steer the token request.
const tagTokenURL = "tokenrotator:token_url"

// wrongSecret is the client secret of a credentials secret the provider
// does not accept; like every client secret, it must appear nowhere.
const wrongSecret = "SENTINEL-wrong-secret-f4u1t"

// member is one integration of a fleet case, as the rotator names it.
type member struct {
	name      string
	client    string // its client id, at its provider
	secret    string // its client secret
	credsID   string // the environment's id, or the ARN its token secret's tag names
	tokenID   string // the environment's id, or the ARN ListSecrets returns
	seeded    string // the access token seeded in its token secret
	tokenURL  string // its own token endpoint, if it has one
	ims       *imsemu.Server
	perClient *clientCounts // token requests at ims
}

func clientOf(name string) string { return "faultmatrix-" + name }
func secretOf(name string) string { return "SENTINEL+" + name + "/secret=f4%41u1t é😀" }

// member returns the fleet's integration named name, or nil.
func (r *rig) member(name string) *member {
	for _, m := range r.members {
		if m.name == name {
			return m
		}
	}
	return nil
}

// hasIMSFaults says whether the case shapes or faults a token endpoint.
func (c matrixCase) hasIMSFaults() bool {
	return len(c.ims) > 0 || c.imsEvery != nil || c.provider != nil
}

// tapMoto returns a handler that counts the calls reaching moto, then
// forwards them to it.
func (r *rig) tapMoto(endpoint string) *tap {
	r.back = newTap(toMoto(endpoint))
	return r.back
}

// toMoto returns a handler that forwards every call to moto.
func toMoto(endpoint string) http.Handler {
	u, _ := url.Parse(endpoint) // motoserver built it
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
	}
}

// seedFleet adds the case's integrations to the function's own: for each,
// a credentials secret tagged with the stack and a token secret under the
// prefix, created with "{}" and tagged with the credentials secret's ARN,
// then given a valid token; then it breaks the target as the case says.
func (r *rig) seedFleet(ctx context.Context, n int) error {
	f := r.c.fleet
	stack := fmt.Sprintf("fm-%02d", n)
	r.prefix = fmt.Sprintf("fm/%02d/integrations/", n)
	r.members = append(r.members, &member{name: integration.DefaultName, client: clientID, secret: clientSecret,
		credsID: r.credsID, tokenID: r.tokenID, seeded: r.seeded.AccessToken, ims: r.ims, perClient: r.perClient})
	planted := r.elseURL + "/planted"
	for _, name := range f.names()[1:] {
		target := name == f.target
		m := &member{name: name, client: clientOf(name), secret: secretOf(name),
			seeded: fmt.Sprintf("SENTINEL-seeded-token-%02d-%s", n, name), ims: r.ims, perClient: r.perClient}
		creds := map[string]any{"client_id": m.client, "client_secret": m.secret}
		if target && r.c.hasIMSFaults() {
			m.perClient = &clientCounts{}
			ims, tokenURL, err := r.startIMS(map[string]imsemu.Client{m.client: {Secrets: []string{m.secret}}}, r.c.provider, m.perClient)
			if err != nil {
				return err
			}
			r.inject(ims)
			m.ims, m.tokenURL = ims, tokenURL
			creds[config.SettingKey(config.EnvTokenURL)] = tokenURL
		}
		if target && f.credentials != nil {
			f.credentials(creds)
		}
		credsTags := []types.Tag{{Key: aws.String(integration.TagStack), Value: aws.String(stack)}}
		tokenTags := []types.Tag{
			{Key: aws.String(integration.TagStack), Value: aws.String(stack)},
			{Key: aws.String(integration.TagIntegration), Value: aws.String(name)},
		}
		if target && f.planted {
			credsTags = append(credsTags, types.Tag{Key: aws.String(tagTokenURL), Value: aws.String(planted)})
			tokenTags = append(tokenTags, types.Tag{Key: aws.String(tagTokenURL), Value: aws.String(planted)})
		}
		credsValue, err := json.Marshal(creds)
		if err != nil {
			return err
		}
		if m.credsID, err = r.create(ctx, fmt.Sprintf("fm/%02d/%s/credentials", n, name), string(credsValue), credsTags); err != nil {
			return err
		}
		switch {
		case target && f.untagged:
		case target && f.ownCredentials:
			tokenTags = append(tokenTags, types.Tag{Key: aws.String(integration.TagCredentials), Value: aws.String(r.arns[r.credsID])})
		default:
			tokenTags = append(tokenTags, types.Tag{Key: aws.String(integration.TagCredentials), Value: aws.String(m.credsID)})
		}
		if m.tokenID, err = r.create(ctx, r.prefix+name, "{}", tokenTags); err != nil {
			return err
		}
		value, err := json.Marshal(seededToken(r.c.stored, m.client, m.seeded))
		if err != nil {
			return err
		}
		switch {
		case target && f.tokenValue != "":
			value = []byte(f.tokenValue)
		case target && f.planted:
			value = fmt.Appendf(nil, `{"token_url":%q}`, planted)
		}
		if string(value) != "{}" {
			if _, err := r.direct.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(m.tokenID), SecretString: aws.String(string(value))}); err != nil {
				return fmt.Errorf("storing %s's token: %w", name, err)
			}
		}
		if target && f.credentialsGone != "" {
			in := &secretsmanager.DeleteSecretInput{SecretId: aws.String(m.credsID), ForceDeleteWithoutRecovery: aws.Bool(true)}
			if f.credentialsGone == "scheduled" {
				in.ForceDeleteWithoutRecovery, in.RecoveryWindowInDays = nil, aws.Int64(7)
			}
			if _, err := r.direct.DeleteSecret(ctx, in); err != nil {
				return fmt.Errorf("deleting %s's credentials: %w", name, err)
			}
		}
		r.members = append(r.members, m)
	}
	return nil
}

// create creates a secret with value and tags, and returns its ARN.
func (r *rig) create(ctx context.Context, name, value string, tags []types.Tag) (string, error) {
	out, err := r.direct.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String(value), Tags: tags})
	if err != nil {
		return "", fmt.Errorf("creating %s: %w", name, err)
	}
	return aws.ToString(out.ARN), nil
}

// wireBounded builds the handler as rotation.NewHandler does, with the
// run's bounds that NewHandler leaves at their defaults: how many
// integrations run at once and each one's deadline (zero keeps a default).
func wireBounded(getenv func(string) string, awsCfg aws.Config, logger *slog.Logger, metricsOut io.Writer, concurrency int, integrationTimeout, attempt time.Duration) handler {
	cfg, err := config.Load(getenv)
	if err != nil {
		logger.Error("rotator not started", "error", err.Error())
		return rotation.Unconfigured(err, logger)
	}
	sm := secretsmanager.NewFromConfig(awsCfg, func(o *secretsmanager.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(attempt)
	})
	store := secretstore.New(sm)
	return rotation.New(rotation.Config{
		Settings:           cfg,
		Store:              store,
		Versions:           store,
		Directory:          secretstore.NewDirectory(sm),
		Fetchers:           rotation.NewFetchers(oauthtoken.Config{Logger: logger}, rotation.Sources{}),
		Metrics:            metrics.Emitter{W: metricsOut, FunctionName: "faultmatrix"},
		Logger:             logger,
		Concurrency:        concurrency,
		IntegrationTimeout: integrationTimeout,
	}).Handle
}

// snapshotFleet returns the state of each member's token secret, in the
// order of r.members, in a few calls: moto_server, shared by every case,
// is what bounds the matrix's run time. The versions and stages of the
// added ones come from one ListSecrets page, every value from
// BatchGetSecretValue (20 secrets a call).
func (r *rig) snapshotFleet(ctx context.Context) ([]snapshot, error) {
	own, err := r.direct.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: aws.String(r.tokenID)})
	if err != nil {
		return nil, fmt.Errorf("listing versions: %w", err)
	}
	stages := map[string]map[string][]string{r.tokenID: {}}
	for _, v := range own.Versions {
		stages[r.tokenID][aws.ToString(v.VersionId)] = v.VersionStages
	}
	list, err := r.direct.ListSecrets(ctx, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(100),
		Filters: []types.Filter{{Key: types.FilterNameStringTypeName, Values: []string{r.prefix}}}})
	if err != nil {
		return nil, fmt.Errorf("listing the fleet's token secrets: %w", err)
	}
	for _, s := range list.SecretList {
		stages[aws.ToString(s.ARN)] = s.SecretVersionsToStages
	}
	values := map[string]string{}
	for chunk := range slices.Chunk(r.members, 20) {
		var ids []string
		for _, m := range chunk {
			ids = append(ids, m.tokenID)
		}
		out, err := r.direct.BatchGetSecretValue(ctx, &secretsmanager.BatchGetSecretValueInput{SecretIdList: ids})
		if err != nil {
			return nil, fmt.Errorf("reading the fleet's tokens: %w", err)
		}
		if len(out.Errors) > 0 {
			return nil, fmt.Errorf("reading the fleet's tokens: %s", aws.ToString(out.Errors[0].Message))
		}
		for _, v := range out.SecretValues {
			values[aws.ToString(v.ARN)] = aws.ToString(v.SecretString)
			values[aws.ToString(v.Name)] = aws.ToString(v.SecretString)
		}
	}
	snaps := make([]snapshot, len(r.members))
	for i, m := range r.members {
		s := &snaps[i]
		s.value = values[m.tokenID]
		s.versions = len(stages[m.tokenID])
		for id, st := range stages[m.tokenID] {
			for _, stage := range st {
				switch stage {
				case "AWSCURRENT":
					s.current = id
				case "AWSPREVIOUS":
					s.previous = id
				}
			}
		}
	}
	return snaps, nil
}
