package secretstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// The staging labels of Secrets Manager's rotation protocol.
const (
	StageCurrent  = "AWSCURRENT"
	StagePending  = "AWSPENDING"
	StagePrevious = "AWSPREVIOUS"
)

// Versions is what a rotation step needs to know of a secret: which secret
// it is, whether Secrets Manager rotates it, and its versions' stages.
type Versions struct {
	ARN, Name string
	// RotationEnabled is DescribeSecret's RotationEnabled.
	RotationEnabled bool
	// Stages maps each version id that has a staging label to its labels.
	Stages map[string][]string
	// Tags are the secret's tags, for finding its credentials secret.
	Tags []types.Tag
}

// Has reports whether version carries stage.
func (v Versions) Has(version, stage string) bool { return slices.Contains(v.Stages[version], stage) }

// With returns the version that carries stage, or "".
func (v Versions) With(stage string) string {
	ids := make([]string, 0, len(v.Stages))
	for id := range v.Stages {
		ids = append(ids, id)
	}
	sort.Strings(ids) // a label is on one version at most; sorted for a stable answer all the same
	for _, id := range ids {
		if v.Has(id, stage) {
			return id
		}
	}
	return ""
}

// Versions describes the secret id (a name or ARN) with DescribeSecret,
// which reads no value.
func (s *Store) Versions(ctx context.Context, id string) (Versions, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	out, err := s.sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		return Versions{}, callError("describing secret", id, err)
	}
	return Versions{
		ARN:             aws.ToString(out.ARN),
		Name:            aws.ToString(out.Name),
		RotationEnabled: aws.ToBool(out.RotationEnabled),
		Stages:          out.VersionIdsToStages,
		Tags:            out.Tags,
	}, nil
}

// Pending is a version's value as a rotation step reads it.
type Pending struct {
	// Found says the version has a value. Secrets Manager stages
	// AWSPENDING on a new version before createSecret, with no value.
	Found bool
	// Value and Problem are ParseToken's answer for the value, when Found.
	Value   TokenValue
	Problem string
}

// ReadPending reads the value of version, which must carry AWSPENDING. A
// version without a value is Found false, not an error.
func (s *Store) ReadPending(ctx context.Context, id, version string) (Pending, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	out, err := s.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(id), VersionId: aws.String(version), VersionStage: aws.String(StagePending),
	})
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return Pending{}, nil
		}
		return Pending{}, callError(fmt.Sprintf("reading version %q (%s) of token secret", version, StagePending), id, err)
	}
	if out.SecretString == nil {
		return Pending{}, nil
	}
	p := Pending{Found: true}
	p.Value, p.Problem = ParseToken(*out.SecretString)
	return p, nil
}

// ErrVersionExists is returned by WritePending when version already holds
// another value: a version's value is written once.
var ErrVersionExists = errors.New("the version already holds a value")

// WritePending stores v as version of the token secret with the stage
// AWSPENDING only, so that readers of AWSCURRENT do not see it yet.
// rotationToken, when not empty, is the rotation event's RotationToken.
// Writing the same value again succeeds; another value fails with
// ErrVersionExists.
func (s *Store) WritePending(ctx context.Context, id, version, rotationToken string, v TokenValue) error {
	body, err := encode(v)
	if err != nil {
		return err
	}
	in := &secretsmanager.PutSecretValueInput{
		SecretId:           aws.String(id),
		ClientRequestToken: aws.String(version),
		SecretString:       aws.String(string(body)),
		VersionStages:      []string{StagePending},
	}
	if rotationToken != "" {
		in.RotationToken = aws.String(rotationToken)
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	if _, err := s.sm.PutSecretValue(ctx, in); err != nil {
		var exists *types.ResourceExistsException
		if errors.As(err, &exists) {
			return fmt.Errorf("writing version %q of token secret %q: %w", version, id, ErrVersionExists)
		}
		return callError(fmt.Sprintf("writing version %q (%s) of token secret", version, StagePending), id, err)
	}
	return nil
}

// MakeCurrent moves AWSCURRENT from version from to version to; Secrets
// Manager then labels from AWSPREVIOUS.
func (s *Store) MakeCurrent(ctx context.Context, id, to, from string) error {
	return s.stage(ctx, "token secret", id, StageCurrent, to, from)
}

// DropPending removes AWSPENDING from version.
func (s *Store) DropPending(ctx context.Context, id, version string) error {
	return s.stage(ctx, "token secret", id, StagePending, "", version)
}

// stage moves stage; kind names the secret in errors.
func (s *Store) stage(ctx context.Context, kind, id, stage, to, from string) error {
	in := &secretsmanager.UpdateSecretVersionStageInput{SecretId: aws.String(id), VersionStage: aws.String(stage)}
	if to != "" {
		in.MoveToVersionId = aws.String(to)
	}
	if from != "" {
		in.RemoveFromVersionId = aws.String(from)
	}
	ctx, cancel := bound(ctx)
	defer cancel()
	if _, err := s.sm.UpdateSecretVersionStage(ctx, in); err != nil {
		what := fmt.Sprintf("removing %s from version %q of %s", stage, from, kind)
		if to != "" {
			what = fmt.Sprintf("moving %s from version %q to %q of %s", stage, from, to, kind)
		}
		return callError(what, id, err)
	}
	return nil
}

// encode is the token secret's stored form: times in UTC, to the second.
func encode(v TokenValue) ([]byte, error) {
	v.Expiry = v.Expiry.UTC().Truncate(time.Second)
	v.IssuedAt = v.IssuedAt.UTC().Truncate(time.Second)
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding token secret value: %w", err)
	}
	return body, nil
}

// Entry is the integration name added under a prefix, as the Directory
// would find it from this secret's tags.
func (v Versions) Entry(name string) Entry { return entry(name, v.ARN, v.Tags) }
