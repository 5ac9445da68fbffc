package secretstore

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// CredentialsAPI is the part of *secretsmanager.Client that the
// client-secret rotation calls: a Store's calls, and the tags that mark a
// retirement pending.
type CredentialsAPI interface {
	SecretsManager
	TagResource(ctx context.Context, in *secretsmanager.TagResourceInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.TagResourceOutput, error)
	UntagResource(ctx context.Context, in *secretsmanager.UntagResourceInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.UntagResourceOutput, error)
	ListSecrets(ctx context.Context, in *secretsmanager.ListSecretsInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error)
}

// CredentialStore serves the client-secret rotation's steps on a
// credentials secret: a Store's stage moves, plus its values read and
// written whole (the rotation keeps every field it does not change) and
// its tags. Values are never part of an error. It is safe for concurrent
// use.
type CredentialStore struct {
	*Store
	api CredentialsAPI
}

// NewCredentialStore returns a CredentialStore that calls api.
func NewCredentialStore(api CredentialsAPI) *CredentialStore {
	return &CredentialStore{Store: New(api), api: api}
}

// ReadVersion reads the value of the credentials secret's version with
// stage (StageCurrent, StagePending); version may be empty for whichever
// version carries stage. found is false when the version has no value (a
// new AWSPENDING version before createSecret). It returns the version id
// read.
func (s *CredentialStore) ReadVersion(ctx context.Context, id, version, stage string) (value, versionID string, found bool, err error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(id), VersionStage: aws.String(stage)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := s.api.GetSecretValue(ctx, in)
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) && stage == StagePending {
			return "", "", false, nil
		}
		return "", "", false, callError(fmt.Sprintf("reading the %s version %q of credentials secret", stage, version), id, err)
	}
	if out.SecretString == nil {
		return "", aws.ToString(out.VersionId), false, nil
	}
	return *out.SecretString, aws.ToString(out.VersionId), true, nil
}

// WriteVersion stores value, a whole credentials secret value, as version
// with the stage AWSPENDING only. rotationToken, when not empty, is the
// rotation event's RotationToken. Writing the same value again succeeds;
// another value fails with ErrVersionExists.
func (s *CredentialStore) WriteVersion(ctx context.Context, id, version, rotationToken, value string) error {
	in := &secretsmanager.PutSecretValueInput{
		SecretId:           aws.String(id),
		ClientRequestToken: aws.String(version),
		SecretString:       aws.String(value),
		VersionStages:      []string{StagePending},
	}
	if rotationToken != "" {
		in.RotationToken = aws.String(rotationToken)
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	if _, err := s.api.PutSecretValue(ctx, in); err != nil {
		var exists *types.ResourceExistsException
		if errors.As(err, &exists) {
			return fmt.Errorf("writing version %q of credentials secret %q: %w", version, id, ErrVersionExists)
		}
		return callError(fmt.Sprintf("writing version %q (%s) of credentials secret", version, StagePending), id, err)
	}
	return nil
}

// MakeCurrent moves AWSCURRENT from version from to version to of the
// credentials secret id; Secrets Manager then labels from AWSPREVIOUS.
func (s *CredentialStore) MakeCurrent(ctx context.Context, id, to, from string) error {
	return s.stage(ctx, "credentials secret", id, StageCurrent, to, from)
}

// DropPending removes AWSPENDING from version of the credentials secret id.
func (s *CredentialStore) DropPending(ctx context.Context, id, version string) error {
	return s.stage(ctx, "credentials secret", id, StagePending, "", version)
}

// Tag sets the tag key to value on the secret id.
func (s *CredentialStore) Tag(ctx context.Context, id, key, value string) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	_, err := s.api.TagResource(ctx, &secretsmanager.TagResourceInput{SecretId: aws.String(id),
		Tags: []types.Tag{{Key: aws.String(key), Value: aws.String(value)}}})
	if err != nil {
		return callError(fmt.Sprintf("tagging %s on secret", key), id, err)
	}
	return nil
}

// Untag removes the tag key from the secret id; a tag already gone is not
// an error.
func (s *CredentialStore) Untag(ctx context.Context, id, key string) error {
	ctx, cancel := bound(ctx)
	defer cancel()
	if _, err := s.api.UntagResource(ctx, &secretsmanager.UntagResourceInput{SecretId: aws.String(id), TagKeys: []string{key}}); err != nil {
		return callError(fmt.Sprintf("removing tag %s from secret", key), id, err)
	}
	return nil
}

// Tagged is a secret that carries a tag, as ListTagged finds it.
type Tagged struct {
	ARN, Name string
	// Value is the tag's value.
	Value string
}

// ListTagged returns the secrets carrying the tag key, sorted by ARN: one
// ListSecrets call per 100 secrets, with a tag-key filter. ListSecrets is
// eventually consistent: a tag set moments ago may be missing.
func (s *CredentialStore) ListTagged(ctx context.Context, key string) ([]Tagged, error) {
	in := &secretsmanager.ListSecretsInput{
		MaxResults: aws.Int32(listPage),
		Filters:    []types.Filter{{Key: types.FilterNameStringTypeTagKey, Values: []string{key}}},
	}
	var found []Tagged
	for {
		callCtx, cancel := bound(ctx)
		out, err := s.api.ListSecrets(callCtx, in)
		cancel()
		if err != nil {
			return nil, callError("listing the secrets tagged", key, err)
		}
		for _, sec := range out.SecretList {
			if sec.DeletedDate != nil {
				continue
			}
			for _, t := range sec.Tags {
				// The filter matches keys by prefix: keep the exact key.
				if aws.ToString(t.Key) == key {
					found = append(found, Tagged{ARN: aws.ToString(sec.ARN), Name: aws.ToString(sec.Name), Value: aws.ToString(t.Value)})
				}
			}
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	sort.Slice(found, func(i, j int) bool { return found[i].ARN < found[j].ARN })
	return found, nil
}
