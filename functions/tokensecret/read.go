package tokensecret

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
)

// readFunc reads the token secret once. forced is true when the read must
// get past any cache on the way (a token was reported as rejected).
type readFunc func(ctx context.Context, forced bool) (Token, error)

// readFromClient reads the secret's AWSCURRENT version with the SDK.
func readFromClient(c Client, secretID string) readFunc {
	return func(ctx context.Context, _ bool) (Token, error) {
		out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretID)})
		if err != nil {
			return Token{}, classifySDKError(err)
		}
		if out.SecretString == nil {
			return Token{}, fmt.Errorf("%w: the secret holds binary data, not a JSON string", ErrMalformed)
		}
		tok, err := ParseSecret(*out.SecretString)
		if err != nil {
			return Token{}, fmt.Errorf("version %s: %w", aws.ToString(out.VersionId), err)
		}
		tok.Version = aws.ToString(out.VersionId)
		return tok, nil
	}
}

// classifySDKError adds the sentinel a caller can branch on to an SDK error.
func classifySDKError(err error) error {
	var notFound *types.ResourceNotFoundException
	if errors.As(err, &notFound) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorCode() == "AccessDeniedException" {
		return fmt.Errorf("%w: %w", ErrAccessDenied, err)
	}
	return err
}
