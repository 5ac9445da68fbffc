// Package rotationservice plays Secrets Manager's part in the rotation
// protocol, locally: it turns rotation on for a secret in moto_server,
// stages AWSPENDING on a new version without a value, and invokes the
// rotation function once per step, createSecret, setSecret, testSecret,
// finishSecret, stopping at the first step that fails, as Secrets Manager
// does. make run and the tests drive the rotator's second engine with it.
//
//	svc := rotationservice.Service{SM: secretsmanager.NewFromConfig(moto.AWSConfig()), Invoke: invoke}
//	rot, err := svc.Rotate(ctx, "tokenrotator/token")
//	// rot.Version is the new version; rot.Steps says what each step did
//
// moto_server cannot invoke a rotation function itself (it would need
// Docker). Its RotateSecret, given a function it does not know, still does
// what Secrets Manager does before the first step, turning rotation on and
// staging AWSPENDING on a new empty version, and then fails; Begin relies on
// that, and checks the outcome with DescribeSecret.
package rotationservice

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// Steps are the rotation protocol's steps, in order.
var Steps = []string{"createSecret", "setSecret", "testSecret", "finishSecret"}

// SecretsAPI is the part of *secretsmanager.Client the service calls. It
// reads no secret's value.
type SecretsAPI interface {
	RotateSecret(ctx context.Context, in *secretsmanager.RotateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.RotateSecretOutput, error)
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	CancelRotateSecret(ctx context.Context, in *secretsmanager.CancelRotateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CancelRotateSecretOutput, error)
}

// Service is Secrets Manager's rotation service in front of one function.
type Service struct {
	// SM is Secrets Manager (moto_server).
	SM SecretsAPI
	// Invoke runs the rotation function synchronously with payload; an
	// error is a failed invocation (a function error or no answer).
	Invoke func(ctx context.Context, payload []byte) error
	// FunctionARN is what RotateSecret is given as the rotation function;
	// empty means a stand-in ARN, which moto_server cannot call.
	FunctionARN string
}

// Event is what Secrets Manager sends the rotation function for a step.
type Event struct {
	Step               string `json:"Step"`
	SecretID           string `json:"SecretId"`
	ClientRequestToken string `json:"ClientRequestToken"`
	RotationToken      string `json:"RotationToken"`
}

// Rotation is one rotation's course.
type Rotation struct {
	// SecretARN is the rotated secret.
	SecretARN string
	// Version is the version the rotation created (its ClientRequestToken).
	Version string
	// RotationToken is what each step was sent as RotationToken.
	RotationToken string
	// Done lists the steps that succeeded, in order.
	Done []string
}

const standInARN = "arn:aws:lambda:us-east-1:123456789012:function:tokenrotator-rotation-stand-in"

// Begin starts a rotation of secretID: rotation on (a rule of one day, as
// moto_server knows no schedule expression) and AWSPENDING on a new
// version without a value. It returns the rotation, with no step done.
func (s *Service) Begin(ctx context.Context, secretID string) (Rotation, error) {
	rot := Rotation{Version: NewUUID(), RotationToken: NewUUID()}
	fn := s.FunctionARN
	if fn == "" {
		fn = standInARN
	}
	_, err := s.SM.RotateSecret(ctx, &secretsmanager.RotateSecretInput{
		SecretId:           aws.String(secretID),
		ClientRequestToken: aws.String(rot.Version),
		RotationLambdaARN:  aws.String(fn),
		RotationRules:      &types.RotationRulesType{AutomaticallyAfterDays: aws.Int64(1)},
		RotateImmediately:  aws.Bool(true),
	})
	var nf *types.ResourceNotFoundException
	if err != nil && !(errors.As(err, &nf) && strings.Contains(err.Error(), fn)) {
		return Rotation{}, fmt.Errorf("starting a rotation of %q: %w", secretID, err)
	}
	out, err := s.SM.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretID)})
	if err != nil {
		return Rotation{}, fmt.Errorf("starting a rotation of %q: %w", secretID, err)
	}
	if !aws.ToBool(out.RotationEnabled) || !slices.Contains(out.VersionIdsToStages[rot.Version], "AWSPENDING") {
		return Rotation{}, fmt.Errorf("starting a rotation of %q: RotateSecret left rotation enabled %v and version %s with stages %v, want true and AWSPENDING",
			secretID, aws.ToBool(out.RotationEnabled), rot.Version, out.VersionIdsToStages[rot.Version])
	}
	rot.SecretARN = aws.ToString(out.ARN)
	return rot, nil
}

// Disable turns rotation off for secretID (CancelRotateSecret), as
// switching a stack back to the scheduler engine does.
func (s *Service) Disable(ctx context.Context, secretID string) error {
	if _, err := s.SM.CancelRotateSecret(ctx, &secretsmanager.CancelRotateSecretInput{SecretId: aws.String(secretID)}); err != nil {
		return fmt.Errorf("turning rotation off for %q: %w", secretID, err)
	}
	return nil
}

// Step invokes one step of rot.
func (s *Service) Step(ctx context.Context, rot Rotation, step string) error {
	payload, err := json.Marshal(Event{Step: step, SecretID: rot.SecretARN, ClientRequestToken: rot.Version, RotationToken: rot.RotationToken})
	if err != nil {
		return err
	}
	if err := s.Invoke(ctx, payload); err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	return nil
}

// Rotate begins a rotation of secretID and runs its steps in order,
// stopping at the first that fails, whose error it returns with the
// rotation so far.
func (s *Service) Rotate(ctx context.Context, secretID string) (Rotation, error) {
	rot, err := s.Begin(ctx, secretID)
	if err != nil {
		return rot, err
	}
	return s.Continue(ctx, rot)
}

// Continue runs the steps of rot not yet done, in order, as Secrets
// Manager's retry of a failed rotation does with the same version.
func (s *Service) Continue(ctx context.Context, rot Rotation) (Rotation, error) {
	for _, step := range Steps[len(rot.Done):] {
		if err := s.Step(ctx, rot, step); err != nil {
			return rot, err
		}
		rot.Done = append(rot.Done, step)
	}
	return rot, nil
}

// Stages returns each version of secretID with its staging labels, sorted
// by version id, as "id: AWSCURRENT, AWSPENDING".
func Stages(ctx context.Context, sm SecretsAPI, secretID string) ([]string, error) {
	out, err := sm.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(secretID)})
	if err != nil {
		return nil, fmt.Errorf("describing %q: %w", secretID, err)
	}
	var lines []string
	for id, stages := range out.VersionIdsToStages {
		s := slices.Clone(stages)
		sort.Strings(s)
		lines = append(lines, id+": "+strings.Join(s, ", "))
	}
	sort.Strings(lines)
	return lines, nil
}

// NewUUID is a random (version 4) UUID, the form Secrets Manager's
// ClientRequestToken (the version id) and RotationToken take.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
