package tokensecret

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// Defaults for the zero values of Config.
const (
	// DefaultMargin is the longest margin a Source keeps by default: unless
	// Config.Margin is set, a Source reads the secret again at
	// expiry - min(DefaultMargin, lifetime/6), where lifetime is the
	// token's expiry - issued_at (DefaultMargin itself when the secret has
	// no issued_at). A scheduled run of the rotator replaces a token at
	// least min(MIN_TOKEN_AGE, lifetime/4) old, and its documented
	// schedules leave at least 1 h on a 24 h token, 15 min on a 1 h token
	// and 5 min on a 15 min token when they replace it; the replaced token
	// keeps working until its own expiry. So a 24 h or 1 h token is read again
	// 5 min before its expiry and a 15 min token 2.5 min before: late
	// enough that one read finds the new token, early enough to cover clock
	// skew and requests in flight.
	DefaultMargin = 5 * time.Minute

	// DefaultRetryInterval is how long a Source waits before reading again
	// after a read that failed, or that found no newer token, while the
	// cached token is still valid.
	DefaultRetryInterval = time.Minute

	// DefaultReadTimeout bounds one read of the secret.
	DefaultReadTimeout = 10 * time.Second

	// DefaultExtensionURL is where the AWS Parameters and Secrets Lambda
	// Extension listens unless PARAMETERS_SECRETS_EXTENSION_HTTP_PORT
	// says otherwise.
	DefaultExtensionURL = "http://localhost:2773"

	// DefaultAPIKeyHeader is the header in which a Source's SetAuthHeader,
	// and so Transport, sends the token's client id unless
	// Config.APIKeyHeader or Config.OmitAPIKey says otherwise. Adobe APIs
	// want it.
	DefaultAPIKeyHeader = "x-api-key"
)

// Client is the part of the Secrets Manager client a Source uses;
// *secretsmanager.Client satisfies it.
type Client interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Config configures a Source. Only SecretID and one way to read (Client, or
// Extension) are required; every other zero value means the documented
// default.
type Config struct {
	// SecretID is the name or ARN of the token secret. Required.
	SecretID string

	// Client reads the secret from Secrets Manager, usually
	// secretsmanager.NewFromConfig(awsConfig). Required unless Extension
	// is set.
	Client Client

	// Margin is how long before a token's expiry the Source reads the
	// secret again; an explicit value is used as is for every token. Zero
	// means relative to each token's lifetime (expiry - issued_at):
	// min(DefaultMargin, lifetime/6), so 5 min for tokens of 30 min or
	// more and 2.5 min for a 15 min token; DefaultMargin when the secret
	// has no issued_at. An explicit Margin must stay well under the time
	// the rotator leaves on a token it replaces (about 1 h on a 24 h
	// token, 5 min on a 15 min one), so that the re-read finds the new
	// token.
	Margin time.Duration

	// RetryInterval is how long the Source waits before reading again after
	// a read that failed or found no newer token, while the cached token is
	// still valid. It also limits how often a token reported as rejected
	// is read again. Zero means DefaultRetryInterval (1 min).
	RetryInterval time.Duration

	// ReadTimeout bounds one read of the secret. Zero means
	// DefaultReadTimeout (10 s).
	ReadTimeout time.Duration

	// Now tells the time. Nil means time.Now. Tests pass a fake clock.
	Now func() time.Time

	// Logger receives one line per read: what was read and why, or why it
	// failed. It never receives a token. Nil means slog.Default().
	Logger *slog.Logger

	// Extension, when true, reads through the AWS Parameters and Secrets
	// Lambda Extension instead of Client. The extension caches values for
	// up to SECRETS_MANAGER_TTL (at most 300 s), so a read made after a
	// rotation may return the replaced token for that long; the Source
	// copes, because the replaced token keeps working until its own
	// expiry. Reject cannot get past that cache either: a token an API
	// refused may be served again until the extension's cache entry
	// expires (see Source.Reject).
	Extension bool

	// ExtensionURL is the extension's base URL. Empty means
	// http://localhost:$PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, or
	// DefaultExtensionURL when that variable is unset.
	ExtensionURL string

	// HTTPClient carries the extension requests. Nil means a client with
	// ReadTimeout as its timeout.
	HTTPClient *http.Client

	// Getenv looks up AWS_SESSION_TOKEN (sent to the extension in the
	// X-Aws-Parameters-Secrets-Token header) and
	// PARAMETERS_SECRETS_EXTENSION_HTTP_PORT. Nil means os.Getenv.
	Getenv func(string) string

	// APIKeyHeader names the header in which SetAuthHeader and Transport
	// send the token's client id. Empty means DefaultAPIKeyHeader
	// ("x-api-key"), which Adobe APIs need. It must be a valid header
	// name other than Authorization, and must be empty when OmitAPIKey is
	// set.
	APIKeyHeader string

	// OmitAPIKey, when true, keeps the client id out of every request:
	// SetAuthHeader and Transport set only the Authorization header. Set
	// it for APIs other than Adobe's, which have no use for the client
	// id. False (the default) sends it in APIKeyHeader.
	OmitAPIKey bool
}

// withDefaults checks c and fills in its zero values, except those of Margin
// and APIKeyHeader: marginFor resolves the first for each token, and
// apiKeyHeader the second.
func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.SecretID == "" {
		errs = append(errs, errors.New("SecretID is required"))
	}
	if c.Client == nil && !c.Extension {
		errs = append(errs, errors.New("a Client is required unless Extension is set"))
	}
	if c.Margin < 0 || c.RetryInterval < 0 || c.ReadTimeout < 0 {
		errs = append(errs, errors.New("negative Margin, RetryInterval or ReadTimeout"))
	}
	if err := c.checkAPIKeyHeader(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	if c.RetryInterval == 0 {
		c.RetryInterval = DefaultRetryInterval
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if c.ExtensionURL == "" {
		c.ExtensionURL = DefaultExtensionURL
		if port := c.Getenv("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"); port != "" {
			c.ExtensionURL = "http://localhost:" + port
		}
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: c.ReadTimeout}
	}
	return c, nil
}
