// Package webidentity asks AWS STS for a JWT that names the calling role
// (sts:GetWebIdentityToken, IAM outbound identity federation): the client
// assertion of aws_web_identity, which Entra ID's workload identity
// federation accepts in place of a client secret.
//
//	token := webidentity.Source(sts.NewFromConfig(cfg), "api://AzureADTokenExchange", "RS256")
//	jwt, err := token(ctx) // a new JWT on each call, valid for Lifetime
//
// The account must have outbound identity federation enabled once (aws iam
// enable-outbound-web-identity-federation), and the STS client must use a
// Regional endpoint: GetWebIdentityToken is not served by the global one.
// The SDK's default for STS is the Regional endpoint of the client's region.
//
// It sits beside oauthtoken, whose WebIdentityAuth sends what Source
// returns; oauthtoken knows nothing of STS.
package webidentity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

// Lifetime is how long each JWT is valid (DurationSeconds): five minutes,
// what a client assertion needs and STS's default.
const Lifetime = 5 * time.Minute

// API is the part of the STS client the source uses.
type API interface {
	GetWebIdentityToken(ctx context.Context, in *sts.GetWebIdentityTokenInput, opts ...func(*sts.Options)) (*sts.GetWebIdentityTokenOutput, error)
}

// Source returns a function that asks STS for a new JWT with the aud
// audience, signed with alg (RS256 or ES384), valid for Lifetime. It keeps
// none: each call is a GetWebIdentityToken. Its errors name the audience
// and the algorithm, never a token.
func Source(api API, audience, alg string) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		out, err := api.GetWebIdentityToken(ctx, &sts.GetWebIdentityTokenInput{
			Audience:         []string{audience},
			SigningAlgorithm: aws.String(alg),
			DurationSeconds:  aws.Int32(int32(Lifetime / time.Second)),
		})
		if err != nil {
			return "", &callError{msg: fmt.Sprintf("sts:GetWebIdentityToken (audience %q, %s): %s", audience, alg, describe(err)), err: err}
		}
		if aws.ToString(out.WebIdentityToken) == "" {
			return "", fmt.Errorf("sts:GetWebIdentityToken (audience %q, %s): %w", audience, alg, errors.New("answered no token"))
		}
		return *out.WebIdentityToken, nil
	}
}

// callError is a failed GetWebIdentityToken: a short message, for callers
// that cut long ones, over the SDK's error, which errors.As still reaches.
type callError struct {
	msg string
	err error
}

func (e *callError) Error() string { return e.msg }
func (e *callError) Unwrap() error { return e.err }

// describe words an SDK error with what the user acts on first: the HTTP
// status, STS's error code and message, and the attempts the SDK made;
// the SDK's own wording (operation, request id) otherwise.
func describe(err error) string {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return err.Error()
	}
	s := api.ErrorCode() + ": " + api.ErrorMessage()
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		s = fmt.Sprintf("HTTP %d %s", re.HTTPStatusCode(), s)
	}
	var ma *retry.MaxAttemptsError
	if errors.As(err, &ma) && ma.Attempt > 1 {
		s += fmt.Sprintf(" (after %d attempts)", ma.Attempt)
	}
	return s
}
