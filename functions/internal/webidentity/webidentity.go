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
	"github.com/aws/aws-sdk-go-v2/service/sts"
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
			return "", fmt.Errorf("sts:GetWebIdentityToken (audience %q, %s): %w", audience, alg, err)
		}
		if aws.ToString(out.WebIdentityToken) == "" {
			return "", fmt.Errorf("sts:GetWebIdentityToken (audience %q, %s): %w", audience, alg, errors.New("answered no token"))
		}
		return *out.WebIdentityToken, nil
	}
}
