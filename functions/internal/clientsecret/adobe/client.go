// Package adobe is the clientsecret.Manager for Adobe: it lists, adds and
// removes an OAuth Server-to-Server credential's client secrets through the
// Adobe I/O Management API, with a management token the credential mints
// for itself (the project must have the I/O Management API added).
//
//	m, err := adobe.New(adobe.Config{
//		OrgID: "12345@AdobeOrg", CredentialID: "67890",
//		Credentials: oauthtoken.Credentials{ClientID: id, ClientSecret: current},
//		Token: oauthtoken.Config{TokenURL: "https://ims-na1.adobelogin.com/ims/token/v3"},
//	})
//	secrets, err := m.List(ctx)
//
// List and Remove retry network errors, 5xx and 429 within the context's
// deadline as oauthtoken.Fetcher does. Add is sent once: when its answer
// is lost (a network error, a timeout, a 5xx, a 201 it cannot read) the
// error wraps clientsecret.ErrAddUnknown and the caller lists again; the
// unused orphan is then removed by clientsecret.Plan. No error or log line
// holds a client secret (the current or a new one) or the management token.
package adobe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/clientsecret"
	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
)

// DefaultBaseURL is the I/O Management API's base URL.
const DefaultBaseURL = "https://api.adobe.io"

// Scopes are the scopes of a management token, as Adobe's docs list them.
const Scopes = "AdobeID,openid,read_organizations,additional_info.projectedProductContext,additional_info.roles,adobeio_api,read_client_secret,manage_client_secrets"

// Config configures a Client. Zero values mean the documented defaults.
type Config struct {
	// BaseURL is the management API's base URL: https, or http on a
	// loopback host (the emulator); "" means DefaultBaseURL.
	BaseURL string
	// OrgID and CredentialID name the credential, as in its Developer
	// Console URL; both required.
	OrgID, CredentialID string
	// Credentials are the client id and its current secret; both required.
	Credentials oauthtoken.Credentials
	// Token configures the fetcher of the management token: TokenURL is
	// required; Scope is always Scopes; a nil Logger means Logger.
	Token oauthtoken.Config
	// Transport carries the management calls; nil means Token.Transport,
	// or else oauthtoken.NewTransport().
	Transport http.RoundTripper
	// MaxAttempts bounds the requests of a List or Remove; 0 means
	// oauthtoken.DefaultMaxAttempts. An Add makes one.
	MaxAttempts int
	// AttemptTimeout bounds one request; 0 means oauthtoken.DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// Reserve is time kept free before the context's deadline; 0 means
	// oauthtoken.DefaultReserve.
	Reserve time.Duration
	// BaseDelay and MaxDelay shape the backoff; 0 means oauthtoken's defaults.
	BaseDelay, MaxDelay time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx ends; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger gets one line per retry and per change; nil means slog.Default().
	Logger *slog.Logger
}

// maxBody caps an answer's body.
const maxBody = 1 << 20

// Client is Adobe's clientsecret.Manager. It is safe for concurrent use and
// reuses its management token until shortly before it expires.
type Client struct {
	cfg     Config
	path    string // .../secrets, under BaseURL
	fetcher *oauthtoken.Fetcher
	hc      *http.Client

	mu     sync.Mutex
	token  string
	expiry time.Time
}

var _ clientsecret.Manager = (*Client)(nil)

// New checks cfg and returns a Client. It makes no request.
func New(cfg Config) (*Client, error) {
	var errs []error
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if err := config.CheckURL(cfg.BaseURL); err != nil {
		errs = append(errs, fmt.Errorf("management URL: %w", err))
	}
	if err := config.CheckURL(cfg.Token.TokenURL); err != nil {
		errs = append(errs, fmt.Errorf("token URL: %w", err))
	}
	for name, v := range map[string]string{"org_id": cfg.OrgID, "credential_id": cfg.CredentialID} {
		if strings.TrimSpace(v) == "" || strings.ContainsAny(v, "/?#") {
			errs = append(errs, fmt.Errorf("%s %q: want the id from the credential's Developer Console URL", name, v))
		}
	}
	if cfg.Credentials.ClientID == "" || cfg.Credentials.ClientSecret == "" {
		errs = append(errs, errors.New("client_id and client_secret are both required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("adobe management client: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Transport == nil {
		cfg.Transport = cfg.Token.Transport
	}
	if cfg.Transport == nil {
		cfg.Transport = oauthtoken.NewTransport()
	}
	defaults(&cfg)
	tok := cfg.Token
	tok.Scope, tok.Transport = Scopes, cfg.Transport
	if tok.Logger == nil {
		tok.Logger = cfg.Logger
	}
	if tok.Now == nil {
		tok.Now = cfg.Now
	}
	if tok.Sleep == nil {
		tok.Sleep = cfg.Sleep
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	return &Client{
		cfg:     cfg,
		path:    base + "/console/organizations/" + url.PathEscape(cfg.OrgID) + "/credentials/" + url.PathEscape(cfg.CredentialID) + "/secrets",
		fetcher: oauthtoken.New(tok),
		hc:      &http.Client{Transport: cfg.Transport, CheckRedirect: refuseRedirect},
	}, nil
}

func defaults(cfg *Config) {
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = oauthtoken.DefaultMaxAttempts
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = oauthtoken.DefaultAttemptTimeout
	}
	if cfg.Reserve <= 0 {
		cfg.Reserve = oauthtoken.DefaultReserve
	}
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = oauthtoken.DefaultBaseDelay
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = oauthtoken.DefaultMaxDelay
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = oauthtoken.Sleep
	}
}

func refuseRedirect(req *http.Request, _ []*http.Request) error {
	return fmt.Errorf("redirect to %s://%s%s refused: the management token is only sent to the management URL",
		req.URL.Scheme, req.URL.Host, req.URL.Path)
}

// List returns the credential's secrets, oldest first as Adobe lists them.
func (c *Client) List(ctx context.Context) ([]clientsecret.Secret, error) {
	body, err := c.call(ctx, "listing client secrets", http.MethodGet, c.path, http.StatusOK, true)
	if err != nil {
		return nil, err
	}
	var l struct {
		ClientSecrets []struct {
			UUID         string `json:"uuid"`
			CreatedAt    stamp  `json:"created_at"`
			ExpiresAt    stamp  `json:"expires_at"`
			SecretUsages []struct {
				LastUsedAt stamp `json:"last_used_at"`
			} `json:"secret_usages"`
		} `json:"client_secrets"`
	}
	if err := json.Unmarshal(body, &l); err != nil {
		return nil, &Error{Op: "listing client secrets", StatusCode: http.StatusOK, Reason: "answer refused", Err: errors.New(cleanJSONError(err))}
	}
	out := make([]clientsecret.Secret, 0, len(l.ClientSecrets))
	for _, s := range l.ClientSecrets {
		sec := clientsecret.Secret{UUID: s.UUID, CreatedAt: s.CreatedAt.t, ExpiresAt: s.ExpiresAt.t}
		for _, u := range s.SecretUsages {
			if u.LastUsedAt.t.After(sec.LastUsedAt) {
				sec.LastUsedAt = u.LastUsedAt.t
			}
		}
		out = append(out, sec)
	}
	return out, nil
}

// Add adds a secret and returns it with its value. It sends one request:
// see the package doc for a lost answer.
func (c *Client) Add(ctx context.Context) (clientsecret.Added, error) {
	const op = "adding a client secret"
	body, err := c.call(ctx, op, http.MethodPost, c.path, http.StatusCreated, false)
	if err != nil {
		return clientsecret.Added{}, err
	}
	var a struct {
		ClientSecret string `json:"client_secret"`
		UUID         string `json:"uuid"`
		CreatedAt    stamp  `json:"created_at"`
		ExpiresAt    stamp  `json:"expires_at"`
	}
	// The body holds the new secret: an error here never quotes it.
	if jerr := json.Unmarshal(body, &a); jerr != nil || a.ClientSecret == "" || a.UUID == "" {
		return clientsecret.Added{}, &Error{Op: op, StatusCode: http.StatusCreated, Attempts: 1,
			Reason: "answer unreadable (no client_secret and uuid in a JSON body; not quoted)", Err: clientsecret.ErrAddUnknown}
	}
	added := clientsecret.Added{Secret: clientsecret.Secret{UUID: a.UUID, CreatedAt: a.CreatedAt.t, ExpiresAt: a.ExpiresAt.t}, Value: a.ClientSecret}
	c.cfg.Logger.InfoContext(ctx, "added a client secret", "credential_id", c.cfg.CredentialID, "uuid", added.UUID)
	return added, nil
}

// Remove deletes the secret with uuid. A 404 after an earlier attempt of
// the same call whose outcome is unknown means that attempt removed it.
func (c *Client) Remove(ctx context.Context, uuid string) error {
	if uuid == "" || strings.ContainsAny(uuid, "/?#") {
		return fmt.Errorf("removing a client secret: uuid %q is not a secret's uuid", uuid)
	}
	_, err := c.call(ctx, "removing client secret "+uuid, http.MethodDelete, c.path+"/"+url.PathEscape(uuid), http.StatusNoContent, true)
	if err != nil {
		return err
	}
	c.cfg.Logger.InfoContext(ctx, "removed a client secret", "credential_id", c.cfg.CredentialID, "uuid", uuid)
	return nil
}

// call makes the request with retries when idempotent, and returns the
// body of an answer with status want.
func (c *Client) call(ctx context.Context, op, method, target string, want int, idempotent bool) ([]byte, error) {
	var last *Error
	reauthed, unknown := false, false
	max := c.cfg.MaxAttempts
	if !idempotent {
		max = 1
	}
	for n := 1; ; n++ {
		budget, ok := c.budget(ctx)
		if !ok {
			return nil, c.giveUp(op, last, n-1, "no time left before the deadline")
		}
		tok, err := c.managementToken(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: minting a management token: %w", op, err)
		}
		body, e := c.attempt(ctx, method, target, tok, want, budget)
		if e == nil {
			return body, nil
		}
		e.Op, e.Attempts = op, n
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s: %w", op, ctx.Err())
		}
		switch {
		case e.StatusCode == http.StatusNotFound && method == http.MethodDelete && unknown:
			return nil, nil // an earlier attempt removed it
		case e.StatusCode == http.StatusUnauthorized && !reauthed:
			// The token expired or was revoked: mint another, once. A
			// refused add was not carried out, so sending it again is safe.
			reauthed, last = true, e
			c.dropToken(tok)
			if idempotent && n >= max {
				return nil, c.giveUp(op, last, n, "")
			}
			continue
		}
		if !idempotent {
			if e.outcomeUnknown {
				e.Err = errors.Join(e.Err, clientsecret.ErrAddUnknown)
			}
			return nil, e
		}
		if !e.Retryable {
			return nil, e
		}
		last, unknown = e, unknown || e.outcomeUnknown
		if n >= max {
			return nil, c.giveUp(op, last, n, "")
		}
		wait := c.backoff(n)
		if e.RetryAfter > wait {
			wait = e.RetryAfter
		}
		if left, ok := c.budget(ctx); !ok || wait+time.Second > left {
			return nil, c.giveUp(op, last, n, fmt.Sprintf("the next attempt, due in %s, would end after the deadline", wait.Round(time.Millisecond)))
		}
		c.cfg.Logger.WarnContext(ctx, "management request failed, retrying", "op", op, "attempt", n,
			"status", e.StatusCode, "error", e.Error(), "retry_in_ms", wait.Milliseconds())
		if serr := c.cfg.Sleep(ctx, wait); serr != nil {
			return nil, fmt.Errorf("%s: waiting to retry: %w", op, serr)
		}
	}
}

// attempt makes one request with the token tok.
func (c *Client) attempt(ctx context.Context, method, target, tok string, want int, timeout time.Duration) ([]byte, *Error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sc := oauthtoken.NewScrubber([]oauthtoken.Credentials{c.cfg.Credentials}, tok)
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return nil, &Error{Reason: "request not built", Err: errors.New(sc.Scrub(err.Error()))}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("x-api-key", c.cfg.Credentials.ClientID)
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && ue.Err != nil {
			err = ue.Err // the URL is in Op already, unquoted
		}
		return nil, &Error{Reason: "request failed", Retryable: true, outcomeUnknown: true, Err: errors.New(sc.Scrub(err.Error()))}
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	requestID := sc.Scrub(resp.Header.Get("X-Request-Id"))
	if rerr != nil || len(body) > maxBody {
		return nil, &Error{Reason: "answer unreadable", StatusCode: resp.StatusCode, RequestID: requestID, Retryable: true, outcomeUnknown: true}
	}
	if resp.StatusCode == want {
		return body, nil
	}
	e := &Error{StatusCode: resp.StatusCode, RequestID: requestID, Reason: "refused"}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		e.Reason, e.Retryable = "throttled", true
		// At most an hour: the call's deadline decides whether to wait at all.
		e.RetryAfter = min(oauthtoken.RetryAfter(resp.Header.Get("Retry-After"), c.cfg.Now()), time.Hour)
	case resp.StatusCode >= 500:
		e.Reason, e.Retryable, e.outcomeUnknown = "unavailable", true, true
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		e.Reason, e.outcomeUnknown = fmt.Sprintf("unexpected status, want %d", want), true
	}
	if method != http.MethodPost { // an add's answer may hold a secret: never quoted
		e.Code, e.Message = errorFields(body, sc)
	}
	return nil, e
}

// managementToken returns the cached management token, or mints one.
func (c *Client) managementToken(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && c.cfg.Now().Add(time.Minute).Before(c.expiry) {
		return c.token, nil
	}
	t, err := c.fetcher.Fetch(ctx, c.cfg.Credentials)
	if err != nil {
		return "", err
	}
	c.token, c.expiry = t.AccessToken, t.Expiry
	return c.token, nil
}

// dropToken forgets tok if it is still the cached token.
func (c *Client) dropToken(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token == tok {
		c.token = ""
	}
}

func (c *Client) budget(ctx context.Context) (time.Duration, bool) {
	d := c.cfg.AttemptTimeout
	if deadline, ok := ctx.Deadline(); ok {
		if left := deadline.Sub(c.cfg.Now()) - c.cfg.Reserve; left < d {
			d = left
		}
	}
	return d, d >= time.Second
}

func (c *Client) backoff(n int) time.Duration {
	d := c.cfg.BaseDelay << min(n-1, 16)
	if d > c.cfg.MaxDelay || d <= 0 {
		d = c.cfg.MaxDelay
	}
	return d/2 + rand.N(d/2+1)
}

func (c *Client) giveUp(op string, last *Error, attempts int, why string) error {
	if last == nil {
		return &Error{Op: op, Reason: "request not sent: " + why}
	}
	e := *last
	e.Op, e.Attempts, e.Retryable = op, attempts, false
	e.Reason = "kept failing, gave up"
	if why != "" {
		e.Reason += " (" + why + ")"
	}
	e.Reason += "; last failure: " + last.Reason
	return &e
}
