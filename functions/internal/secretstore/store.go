package secretstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
)

// SecretsManager is the part of *secretsmanager.Client the store calls:
// values are read and written by every run; secrets are described and
// staging labels moved only by the rotation protocol's steps (versions.go).
type SecretsManager interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	UpdateSecretVersionStage(ctx context.Context, in *secretsmanager.UpdateSecretVersionStageInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
}

// Store reads and writes the two secrets. It is safe for concurrent use.
type Store struct {
	sm SecretsManager
}

// New returns a Store that calls sm.
func New(sm SecretsManager) *Store { return &Store{sm: sm} }

// CallTimeout bounds one Secrets Manager call, the SDK's own retries
// included; a call also ends callMargin before the caller's deadline, so
// that a run fails with its own error rather than with Lambda's timeout.
const (
	CallTimeout = 10 * time.Second
	callMargin  = 500 * time.Millisecond
)

func bound(ctx context.Context) (context.Context, context.CancelFunc) {
	d := time.Now().Add(CallTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Add(-callMargin).Before(d) {
		d = dl.Add(-callMargin)
	}
	return context.WithDeadline(ctx, d)
}

// callError wraps a failed call, saying so when it ran out of time.
func callError(what, id string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %q: no answer from Secrets Manager in time: %w", what, id, err)
	}
	return fmt.Errorf("%s %q: %w", what, id, err)
}

// Credentials is a credentials secret's value: the client, and the
// value's other fields, which may carry the integration's own settings
// (config.Provider.Overlay reads them). Printing it shows only the client
// id: oauthtoken.Credentials redacts the secret, and Fields is left out.
type Credentials struct {
	oauthtoken.Credentials
	// Fields holds the value's fields other than client_id and
	// client_secret, undecoded. They may hold other secrets: read only the
	// ones you know, and never log them.
	Fields map[string]json.RawMessage
	// ARN is the secret's full ARN, as Secrets Manager answered the read:
	// the one spelling of the secret, whatever id it was read by (a name,
	// a partial ARN). Empty when the answer had none.
	ARN string
	// ClientSecretExpiresAt is when the client secret expires, in UTC: the
	// field client_secret_expires_at (RFC 3339), which Fields keeps too, so
	// that a rewrite of the value keeps it. Zero when it is absent or empty.
	ClientSecretExpiresAt time.Time
}

// ReadCredentials reads the credentials secret: a JSON object whose
// client_id is a non-empty string, and client_secret too where it is set;
// other keys land in Credentials.Fields. Whether the integration's client
// authentication wants a secret is config.Provider.CheckClientSecret's to say.
func (s *Store) ReadCredentials(ctx context.Context, id string) (Credentials, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	out, err := s.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return Credentials{}, callError("reading credentials secret", id, err)
	}
	if out.SecretString == nil {
		return Credentials{}, fmt.Errorf("credentials secret %q: holds no SecretString; want JSON {\"client_id\": \"...\", \"client_secret\": \"...\"}", id)
	}
	creds, err := ParseCredentials(*out.SecretString)
	if err != nil {
		return Credentials{}, fmt.Errorf("credentials secret %q: %w", id, err)
	}
	creds.ARN = aws.ToString(out.ARN)
	return creds, nil
}

// FieldClientSecretExpiresAt is the credentials secret's optional field
// that says when the client secret expires, in RFC 3339.
const FieldClientSecretExpiresAt = "client_secret_expires_at"

// managedSpellings maps client_id and client_secret to the spellings of
// Secrets Manager's managed external secret types for OAuth clients
// (OktaOAuthClientSecret, SalesforceClientSecret), which are read as they
// are. Their other fields (Okta's domain and secretId) map to no setting
// and stay in Fields, unread.
var managedSpellings = map[string]string{"client_id": "clientId", "client_secret": "clientSecret"}

// ParseCredentials decodes a credentials secret value: a JSON object whose
// client_id (or clientId) is a non-empty string, and client_secret (or
// clientSecret) too where it is set (private_key_jwt has none); its
// optional client_secret_expires_at is an RFC 3339 time; its other fields
// go to Credentials.Fields. The error names every bad field and quotes no
// value.
func ParseCredentials(s string) (Credentials, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &fields); err != nil || fields == nil {
		return Credentials{}, errors.New(`value is not a JSON object; want {"client_id": "...", "client_secret": "..."}`)
	}
	var creds Credentials
	var bad []string
	for _, f := range []struct {
		name string
		dst  *string
	}{{"client_id", &creds.ClientID}, {"client_secret", &creds.ClientSecret}} {
		key, alias := f.name, managedSpellings[f.name]
		raw, ok := fields[key]
		if araw, aok := fields[alias]; aok {
			if ok {
				bad = append(bad, fmt.Sprintf("fields %q and %q are both set: they are one field (%q is the spelling of Secrets Manager's managed external secrets); keep one", key, alias, alias))
				continue
			}
			key, raw, ok = alias, araw, true
		}
		if !ok && f.name == "client_secret" {
			continue
		}
		if !ok {
			bad = append(bad, fmt.Sprintf("field %q is missing", f.name))
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil {
			bad = append(bad, fmt.Sprintf("field %q is not a string", key))
			continue
		}
		if strings.TrimSpace(*f.dst) == "" {
			bad = append(bad, fmt.Sprintf("field %q is empty", key))
		}
	}
	if raw, ok := fields[FieldClientSecretExpiresAt]; ok {
		at, problem := parseExpiry(raw)
		if problem != "" {
			bad = append(bad, fmt.Sprintf("field %q %s", FieldClientSecretExpiresAt, problem))
		}
		creds.ClientSecretExpiresAt = at
	}
	if len(bad) > 0 {
		return Credentials{}, errors.New(strings.Join(bad, "; "))
	}
	for name, alias := range managedSpellings {
		delete(fields, name)
		delete(fields, alias)
	}
	if len(fields) > 0 {
		creds.Fields = fields
	}
	return creds, nil
}

// parseExpiry decodes client_secret_expires_at: a JSON string holding an
// RFC 3339 time, in UTC; an empty string or null is none (the zero time).
// The problem, if any, completes "field ... " and quotes no value.
func parseExpiry(raw json.RawMessage) (time.Time, string) {
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		return time.Time{}, "is not a string; want an RFC 3339 time such as 2027-03-01T00:00:00Z"
	}
	if strings.TrimSpace(v) == "" {
		return time.Time{}, ""
	}
	at, err := time.Parse(time.RFC3339, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}, "is not an RFC 3339 time such as 2027-03-01T00:00:00Z"
	}
	return at.UTC(), ""
}

// ReadToken reads the token secret's AWSCURRENT value. A secret without a
// value, a placeholder or a value that is no valid token is not an error:
// Current.Problem says which. Errors are failures to read.
func (s *Store) ReadToken(ctx context.Context, id string) (Current, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	out, err := s.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			// Also what a secret created without a value answers. If the
			// secret itself is missing, the write says so.
			return Current{Problem: "the token secret has no value yet"}, nil
		}
		return Current{}, callError("reading token secret", id, err)
	}
	cur := Current{VersionID: aws.ToString(out.VersionId)}
	cur.Value, cur.Problem = ParseToken(aws.ToString(out.SecretString))
	return cur, nil
}

// ParseToken decodes a token secret value. problem is empty when the value
// is a usable token (non-empty access_token, bearer, expiry and issued_at
// set); otherwise it says what is wrong without quoting the value.
func ParseToken(s string) (v TokenValue, problem string) {
	if strings.TrimSpace(s) == "" {
		return TokenValue{}, "the token secret has no value yet"
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &fields); err != nil || fields == nil {
		return TokenValue{}, "the stored value is not a JSON object"
	}
	if len(fields) == 0 {
		return TokenValue{}, "the token secret holds no token yet (placeholder)"
	}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return TokenValue{}, "the stored value does not have the token secret's format (a field has the wrong type or a time is not RFC 3339)"
	}
	switch {
	case v.AccessToken == "":
		return v, "the stored value has no access_token"
	case !strings.EqualFold(v.TokenType, "bearer"):
		return v, "the stored token_type is not bearer"
	case v.Expiry.IsZero():
		return v, "the stored value has no expiry"
	case v.IssuedAt.IsZero():
		return v, "the stored value has no issued_at"
	case !v.Expiry.After(v.IssuedAt):
		return v, "the stored expiry is not after issued_at"
	}
	return v, ""
}

// WriteToken stores v as a new version of the token secret, which becomes
// AWSCURRENT; the version before becomes AWSPREVIOUS. It returns the new
// version id.
func (s *Store) WriteToken(ctx context.Context, id string, v TokenValue) (string, error) {
	body, err := encode(v)
	if err != nil {
		return "", err
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	out, err := s.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId:     aws.String(id),
		SecretString: aws.String(string(body)),
	})
	if err != nil {
		return "", callError("writing token secret", id, err)
	}
	return aws.ToString(out.VersionId), nil
}
