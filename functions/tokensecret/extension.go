package tokensecret

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// extensionTokenHeader carries the function's session token to the AWS
// Parameters and Secrets Lambda Extension, which refuses requests without it.
const extensionTokenHeader = "X-Aws-Parameters-Secrets-Token"

// maxExtensionBody caps what is read of an extension response: a secret
// value is at most 64 KiB, and the response wraps it in a little JSON.
const maxExtensionBody = 1 << 18

// extensionResponse is the part of the extension's answer (the
// GetSecretValue output as JSON) that a Source needs.
type extensionResponse struct {
	SecretString *string `json:"SecretString"`
	VersionID    string  `json:"VersionId"`
}

// readFromExtension reads the secret through the Lambda extension at
// cfg.ExtensionURL.
func readFromExtension(cfg Config) readFunc {
	endpoint := strings.TrimRight(cfg.ExtensionURL, "/") + "/secretsmanager/get?secretId=" + url.QueryEscape(cfg.SecretID)
	return func(ctx context.Context, _ bool) (Token, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
		if err != nil {
			return Token{}, fmt.Errorf("building extension request: %w", err)
		}
		req.Header.Set(extensionTokenHeader, cfg.Getenv("AWS_SESSION_TOKEN"))
		resp, err := cfg.HTTPClient.Do(req)
		if err != nil {
			return Token{}, fmt.Errorf("asking the Lambda extension: %w", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxExtensionBody))
		if err != nil {
			return Token{}, fmt.Errorf("reading the Lambda extension's answer: %w", err)
		}
		if resp.StatusCode != http.StatusOK {
			return Token{}, extensionError(resp.StatusCode, body)
		}
		var out extensionResponse
		if err := json.Unmarshal(body, &out); err != nil {
			return Token{}, fmt.Errorf("%w: the Lambda extension's answer is %s", ErrMalformed, describeJSONError(err))
		}
		if out.SecretString == nil {
			return Token{}, fmt.Errorf("%w: the secret holds binary data, not a JSON string", ErrMalformed)
		}
		tok, err := ParseSecret(*out.SecretString)
		if err != nil {
			return Token{}, fmt.Errorf("version %s: %w", out.VersionID, err)
		}
		tok.Version = out.VersionID
		return tok, nil
	}
}

// extensionError turns a non-200 answer from the extension into an error
// carrying the sentinel a caller can branch on. The extension passes
// Secrets Manager's error code through in its body; it answers 401 or 403
// itself when the session token header is wrong.
func extensionError(status int, body []byte) error {
	text := strings.Join(strings.Fields(string(body)), " ")
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	err := fmt.Errorf("the Lambda extension answered HTTP %d: %s", status, text)
	switch {
	case status == http.StatusNotFound || strings.Contains(text, "ResourceNotFoundException"):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case status == http.StatusUnauthorized || status == http.StatusForbidden || strings.Contains(text, "AccessDeniedException"):
		return fmt.Errorf("%w: %w", ErrAccessDenied, err)
	default:
		return err
	}
}
