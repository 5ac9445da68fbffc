package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// SecretsAPI is the part of *secretsmanager.Client the screen calls.
// GetSecretValue reads the token secrets' values, of which only expiry,
// issued_at, client_id and whether access_token is set are kept.
type SecretsAPI interface {
	ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// tokenState is what the screen knows of one token secret.
type tokenState struct {
	// Current and Previous are the AWSCURRENT and AWSPREVIOUS version ids;
	// empty when there is none.
	Current, Previous string
	// Engine is ops.EngineSecretsManager when the secret has rotation
	// enabled, else ops.EngineScheduler.
	Engine string
	// Next bounds the next rotation, for ops.EngineSecretsManager.
	Next nextRun
	// HasToken says the current value is a token: a non-empty access_token
	// and an RFC 3339 expiry.
	HasToken bool
	// Expiry, IssuedAt and ClientID are the token's (IssuedAt may be zero).
	Expiry, IssuedAt time.Time
	ClientID         string
	// NoToken says why HasToken is false: "no value yet", "{}", ...
	NoToken string
	// Err is why the secret could not be read; the rest is then unknown.
	Err error
}

// readToken describes the token secret id and reads its AWSCURRENT value.
func readToken(ctx context.Context, sm SecretsAPI, id string, now time.Time) tokenState {
	d, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		return tokenState{Err: fmt.Errorf("describing token secret %s: %w", id, err)}
	}
	ts := tokenState{Engine: ops.EngineScheduler}
	ts.Current, ts.Previous = stageIDs(d.VersionIdsToStages)
	if aws.ToBool(d.RotationEnabled) {
		ts.Engine = ops.EngineSecretsManager
		ts.Next = rotationNext(d.NextRotationDate, d.LastRotatedDate, d.RotationRules, now)
	}
	if ts.Current == "" {
		ts.NoToken = "no value yet"
		return ts
	}
	v, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionId: aws.String(ts.Current)})
	var nf *smtypes.ResourceNotFoundException
	switch {
	case errors.As(err, &nf):
		ts.NoToken = "no value yet"
		return ts
	case err != nil:
		ts.Err = fmt.Errorf("reading token secret %s version %s: %w", id, ts.Current, err)
		return ts
	}
	ts.parse(aws.ToString(v.SecretString))
	return ts
}

// stageIDs returns the versions labelled AWSCURRENT and AWSPREVIOUS.
func stageIDs(stages map[string][]string) (current, previous string) {
	ids := make([]string, 0, len(stages))
	for id := range stages {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		for _, s := range stages[id] {
			switch s {
			case "AWSCURRENT":
				current = id
			case "AWSPREVIOUS":
				previous = id
			}
		}
	}
	return current, previous
}

// tokenFields are the fields of the token format the screen reads. The
// access token itself is never kept: only whether it is a non-empty string.
type tokenFields struct {
	AccessToken nonEmpty `json:"access_token"`
	Expiry      string   `json:"expiry"`
	IssuedAt    string   `json:"issued_at"`
	ClientID    string   `json:"client_id"`
}

// nonEmpty records whether a JSON value is a non-empty string, and nothing
// of the string.
type nonEmpty bool

func (n *nonEmpty) UnmarshalJSON(b []byte) error {
	*n = len(b) > 2 && b[0] == '"'
	return nil
}

// parse reads the token fields out of the secret's value. Its messages
// never quote the value.
func (ts *tokenState) parse(value string) {
	if strings.TrimSpace(value) == "{}" {
		ts.NoToken = "no token yet ({})"
		return
	}
	var f tokenFields
	if err := json.Unmarshal([]byte(value), &f); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			ts.NoToken = "not JSON"
		} else {
			ts.NoToken = "not the token format"
		}
		return
	}
	ts.ClientID = f.ClientID
	if f.IssuedAt != "" {
		ts.IssuedAt, _ = time.Parse(time.RFC3339, f.IssuedAt)
	}
	expiry, err := time.Parse(time.RFC3339, f.Expiry)
	hasToken := bool(f.AccessToken)
	switch {
	case !hasToken && f.Expiry == "":
		ts.NoToken = "not a token"
	case !hasToken:
		ts.NoToken = "no access_token"
	case err != nil:
		ts.NoToken = "expiry is not RFC 3339"
	default:
		ts.HasToken, ts.Expiry = true, expiry
	}
}
