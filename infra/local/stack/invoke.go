package stack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// Result is the part of the rotator's result the local flow looks at.
type Result struct {
	// Rotated says whether the run wrote a new token version.
	Rotated bool `json:"rotated"`
	// Reason says why the run did what it did.
	Reason string `json:"reason"`
	// Expiry and IssuedAt are those of the token stored after the run.
	Expiry   time.Time `json:"expiry"`
	IssuedAt time.Time `json:"issued_at"`
	// VersionID is the token secret's AWSCURRENT version after the run;
	// PreviousVersionID the one before a write.
	VersionID         string `json:"version_id"`
	PreviousVersionID string `json:"previous_version_id"`
	// ClientID is the client the token is for.
	ClientID string `json:"client_id"`
	// DebugID is the token response's X-Debug-Id, when a token was fetched.
	DebugID string `json:"debug_id"`
	// DurationMs is the run's (or the rotation step's) duration.
	DurationMs int64 `json:"duration_ms"`
	// Raw is the whole response body.
	Raw json.RawMessage `json:"-"`
}

// Event reads a sample event from infra/events, such as "scheduler.json".
func (st *Stack) Event(name string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(st.eventsDir, name))
	if err != nil {
		return nil, fmt.Errorf("reading sample event: %w", err)
	}
	return b, nil
}

// InvokeEvent invokes the function with a sample event from infra/events.
func (st *Stack) InvokeEvent(ctx context.Context, name string) (Result, error) {
	payload, err := st.Event(name)
	if err != nil {
		return Result{}, err
	}
	return st.Invoke(ctx, payload)
}

// Invoke invokes the function with payload and decodes its result. A
// handler error comes back as a *rie.FunctionError.
func (st *Stack) Invoke(ctx context.Context, payload []byte) (Result, error) {
	body, err := st.Lambda.Invoke(ctx, payload)
	if err != nil {
		return Result{}, err
	}
	var res Result
	if err := json.Unmarshal(body, &res); err != nil {
		return Result{}, fmt.Errorf("decoding the function's result %.200q: %w", body, err)
	}
	res.Raw = body
	return res, nil
}

// StoredToken is the token secret's value, in the contract's format.
type StoredToken struct {
	// AccessToken is the token itself; String masks it.
	AccessToken string `json:"access_token"`
	// TokenType is "bearer".
	TokenType string `json:"token_type"`
	// Expiry and IssuedAt are RFC 3339 UTC in the secret.
	Expiry   time.Time `json:"expiry"`
	IssuedAt time.Time `json:"issued_at"`
	// ClientID and Scope are those the token was fetched for.
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	// VersionID is the secret version it was read from.
	VersionID string `json:"-"`
}

// String shows the token with its access token masked.
func (t StoredToken) String() string {
	return fmt.Sprintf("access_token=%s token_type=%s expiry=%s issued_at=%s client_id=%s scope=%s",
		Mask(t.AccessToken), t.TokenType, t.Expiry.Format(time.RFC3339), t.IssuedAt.Format(time.RFC3339), t.ClientID, t.Scope)
}

// Mask shows a secret's first 4 characters and its length, never more, and
// nothing of a secret shorter than 12 characters.
func Mask(s string) string {
	if len(s) < 12 {
		return fmt.Sprintf("…(%d chars)", len(s))
	}
	return fmt.Sprintf("%s…(%d chars)", s[:4], len(s))
}

// StoredToken reads the token secret's AWSCURRENT value.
func (st *Stack) StoredToken(ctx context.Context) (StoredToken, error) {
	return st.TokenVersion(ctx, "", "AWSCURRENT")
}

// TokenVersion reads one version of the token secret, by id or by stage.
func (st *Stack) TokenVersion(ctx context.Context, versionID, stage string) (StoredToken, error) {
	return st.tokenVersion(ctx, TokenSecretID, versionID, stage)
}

// tokenVersion reads one version of the token secret id, by id or by stage.
func (st *Stack) tokenVersion(ctx context.Context, id, versionID, stage string) (StoredToken, error) {
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	if stage != "" {
		in.VersionStage = aws.String(stage)
	}
	out, err := st.Secrets.GetSecretValue(ctx, in)
	if err != nil {
		return StoredToken{}, fmt.Errorf("reading secret %s: %w", id, err)
	}
	var tok StoredToken
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &tok); err != nil {
		// The error would quote the value: leave it out.
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return StoredToken{}, fmt.Errorf("secret %s version %s is not JSON", id, aws.ToString(out.VersionId))
		}
		return StoredToken{}, fmt.Errorf("secret %s version %s is not in the token format", id, aws.ToString(out.VersionId))
	}
	tok.VersionID = aws.ToString(out.VersionId)
	return tok, nil
}

// Version is one version of the token secret.
type Version struct {
	// ID is the version id.
	ID string
	// Stages are its labels, such as AWSCURRENT or AWSPREVIOUS.
	Stages []string
	// Created is when the version was written.
	Created time.Time
}

// Versions lists the token secret's versions, oldest first.
func (st *Stack) Versions(ctx context.Context) ([]Version, error) {
	var versions []Version
	p := secretsmanager.NewListSecretVersionIdsPaginator(st.Secrets, &secretsmanager.ListSecretVersionIdsInput{
		SecretId: aws.String(TokenSecretID), IncludeDeprecated: aws.Bool(true),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing the versions of secret %s: %w", TokenSecretID, err)
		}
		for _, v := range page.Versions {
			versions = append(versions, version(v))
		}
	}
	sort.SliceStable(versions, func(i, j int) bool { return versions[i].Created.Before(versions[j].Created) })
	return versions, nil
}

func version(v types.SecretVersionsListEntry) Version {
	return Version{ID: aws.ToString(v.VersionId), Stages: v.VersionStages, Created: aws.ToTime(v.CreatedDate)}
}
