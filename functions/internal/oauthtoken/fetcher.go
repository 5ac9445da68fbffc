package oauthtoken

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Defaults for the zero values of Config.
const (
	DefaultMaxAttempts    = 5
	DefaultAttemptTimeout = 10 * time.Second
	DefaultReserve        = 5 * time.Second
	DefaultBaseDelay      = 500 * time.Millisecond
	DefaultMaxDelay       = 8 * time.Second
	// DefaultMaxBody caps a response body: a token larger than a Secrets
	// Manager value (64 KiB) could not be stored anyway.
	DefaultMaxBody = 64 << 10
	// minAttempt is the least time worth starting an attempt with.
	minAttempt = time.Second
)

// Config configures a Fetcher. The zero value of every field but TokenURL
// means its documented default.
type Config struct {
	// TokenURL is the token endpoint. Callers validate it (https or loopback).
	TokenURL string
	// Scope is sent as is, as one form field; empty sends no scope.
	Scope string
	// Auth is how the client authenticates: BodyAuth, BasicAuth, JWTAuth or
	// WebIdentityAuth; nil means BodyAuth.
	Auth ClientAuth
	// Params are extra form fields (audience, resource, ...). Callers keep
	// grant_type, client_id, client_secret, client_assertion,
	// client_assertion_type and scope out of them.
	Params url.Values
	// Lifetime is assumed for an answer with neither expires_in nor a JWT
	// access token carrying exp; zero means such an answer is refused.
	Lifetime time.Duration
	// Transport carries the requests; nil means a transport built here with
	// bounded dial, TLS handshake and header waits. TLS is always verified.
	Transport http.RoundTripper
	// MaxAttempts bounds the requests per Fetch; 0 means DefaultMaxAttempts.
	MaxAttempts int
	// AttemptTimeout bounds one request, body included; 0 means DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// Reserve is time kept free before the context's deadline for the caller
	// to store the token and report; 0 means DefaultReserve.
	Reserve time.Duration
	// BaseDelay and MaxDelay shape the backoff; 0 means the defaults.
	BaseDelay, MaxDelay time.Duration
	// MaxBody caps a response body in bytes; 0 means DefaultMaxBody.
	MaxBody int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits d or until ctx ends; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Logger receives one line per retry; nil means slog.Default().
	Logger *slog.Logger
}

// Fetcher requests tokens. Build it once per process and reuse it: its
// transport keeps connections. It is safe for concurrent use.
type Fetcher struct {
	cfg Config
}

// New returns a Fetcher for cfg, filling in defaults. It makes no request.
func New(cfg Config) *Fetcher {
	if cfg.Auth == nil {
		cfg.Auth = BodyAuth{}
	}
	if cfg.Transport == nil {
		cfg.Transport = newTransport()
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = DefaultAttemptTimeout
	}
	if cfg.Reserve <= 0 {
		cfg.Reserve = DefaultReserve
	}
	if cfg.BaseDelay <= 0 {
		cfg.BaseDelay = DefaultBaseDelay
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = DefaultMaxDelay
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = Sleep
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Fetcher{cfg: cfg}
}

// Fetch asks for a token, retrying network errors, 5xx and 429 with backoff
// while the context's deadline, less Config.Reserve, leaves room. The error
// is an *Error unless ctx ended.
func (f *Fetcher) Fetch(ctx context.Context, creds Credentials) (Token, error) {
	secrets := secretForms(creds)
	var last *Error
	for n := 1; ; n++ {
		budget, ok := f.budget(ctx)
		if !ok {
			return Token{}, f.giveUp(last, n-1, "no time left before the deadline")
		}
		tok, err := f.attempt(ctx, creds, secrets, budget)
		if err == nil {
			tok.Attempts = n
			return tok, nil
		}
		err.Attempts = n
		if ctx.Err() != nil {
			return Token{}, fmt.Errorf("token request: %w", ctx.Err())
		}
		if !err.Retryable {
			return Token{}, err
		}
		last = err
		if n >= f.cfg.MaxAttempts {
			return Token{}, f.giveUp(last, n, "")
		}
		wait := f.backoff(n)
		if err.RetryAfter > wait {
			wait = err.RetryAfter
		}
		if left, ok := f.budget(ctx); !ok || wait+minAttempt > left {
			return Token{}, f.giveUp(last, n, fmt.Sprintf("the next attempt, due in %s, would end after the deadline", wait.Round(time.Millisecond)))
		}
		f.cfg.Logger.WarnContext(ctx, "token request failed, retrying",
			"attempt", n, "status", err.StatusCode, "error", err.Error(), "debug_id", err.DebugID,
			"retry_in_ms", wait.Milliseconds())
		if serr := f.cfg.Sleep(ctx, wait); serr != nil {
			return Token{}, fmt.Errorf("token request: waiting to retry: %w", serr)
		}
	}
}

// budget returns how long the next attempt may take: AttemptTimeout, cut to
// the time before ctx's deadline less Reserve. ok is false when less than a
// useful attempt is left.
func (f *Fetcher) budget(ctx context.Context) (time.Duration, bool) {
	d := f.cfg.AttemptTimeout
	if deadline, ok := ctx.Deadline(); ok {
		if left := deadline.Sub(f.cfg.Now()) - f.cfg.Reserve; left < d {
			d = left
		}
	}
	return d, d >= minAttempt
}

func (f *Fetcher) giveUp(last *Error, attempts int, why string) error {
	if last == nil {
		return &Error{Reason: "token request not sent: " + why}
	}
	e := *last
	e.Attempts = attempts
	e.Retryable = false
	e.Reason = "token endpoint kept failing, gave up"
	if why != "" {
		e.Reason += " (" + why + ")"
	}
	e.Reason += "; last failure: " + last.Reason
	return &e
}

// backoff is exponential from BaseDelay, capped at MaxDelay, with jitter
// over its upper half so that overlapping runs spread out.
func (f *Fetcher) backoff(n int) time.Duration {
	d := f.cfg.BaseDelay << min(n-1, 16)
	if d > f.cfg.MaxDelay || d <= 0 {
		d = f.cfg.MaxDelay
	}
	return d/2 + rand.N(d/2+1)
}

// attempt makes one request, authenticated anew; secrets are the forms of
// creds' secret, scrubbed from what the endpoint sends back with those of
// the attempt's own credentials (an assertion).
func (f *Fetcher) attempt(ctx context.Context, creds Credentials, secrets []string, timeout time.Duration) (Token, *Error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	auth, err := f.cfg.Auth.Authenticate(ctx, creds, f.cfg.TokenURL)
	if err != nil {
		sc := newScrubber(secrets...)
		return Token{}, &Error{Reason: "token request not sent", Err: errors.New(sc.scrub(err.Error()))}
	}
	sc := newScrubber(append(slices.Clone(secrets), auth.Scrub...)...)
	rec := &attempt{base: f.cfg.Transport, limit: f.cfg.MaxBody}
	hc := &http.Client{Transport: rec, CheckRedirect: refuseRedirect}
	cc := clientcredentials.Config{
		ClientID:       creds.ClientID,
		ClientSecret:   auth.Secret,
		TokenURL:       f.cfg.TokenURL,
		EndpointParams: f.cfg.Params,
		AuthStyle:      oauth2.AuthStyleInParams,
	}
	if len(auth.Form) > 0 {
		params := url.Values{}
		for k, v := range f.cfg.Params {
			params[k] = v
		}
		for k, v := range auth.Form {
			params[k] = v
		}
		cc.EndpointParams = params
	}
	if auth.Header {
		cc.AuthStyle = oauth2.AuthStyleInHeader
	}
	if f.cfg.Scope != "" {
		cc.Scopes = []string{f.cfg.Scope} // one element: IMS scopes are comma-joined, oauth2 joins with spaces
	}
	raw, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, hc))
	received := f.cfg.Now()
	debugID, status, header, tooLarge := rec.snapshot()
	if err != nil && ctx.Err() != nil && !tooLarge {
		// This attempt's own timeout (the caller's ctx is checked by Fetch).
		return Token{}, &Error{Reason: fmt.Sprintf("token request timed out after %s", timeout.Round(time.Millisecond)),
			StatusCode: status, DebugID: sc.scrub(debugID), Retryable: true}
	}
	if err != nil {
		e := classify(err, sc, status, tooLarge, f.cfg.MaxBody)
		e.DebugID = sc.scrub(debugID)
		if e.Retryable && header != nil {
			e.RetryAfter = RetryAfter(header.Get("Retry-After"), received)
		}
		return Token{}, e
	}
	tok, verr := check(raw, received, f.cfg.Lifetime)
	if verr != nil {
		verr.StatusCode = status
		verr.DebugID = sc.scrub(debugID)
		return Token{}, verr
	}
	tok.DebugID = debugID
	return tok, nil
}

// check validates a response the oauth2 package accepted: a bearer token
// with a lifetime within MinLifetime and MaxLifetime (see lifetime).
func check(raw *oauth2.Token, received time.Time, fallback time.Duration) (Token, *Error) {
	refuse := func(format string, args ...any) *Error {
		return &Error{Reason: "token response refused: " + fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(raw.AccessToken) == "" {
		return Token{}, refuse("access_token is empty")
	}
	if !strings.EqualFold(raw.TokenType, "bearer") {
		if raw.TokenType == "" {
			return Token{}, refuse("token_type is missing, want bearer")
		}
		return Token{}, refuse("token_type is %q, want bearer", newScrubber(raw.AccessToken).scrub(raw.TokenType))
	}
	life, from, err := lifetime(raw, received, fallback)
	if err != nil {
		return Token{}, err
	}
	issued := received.UTC().Truncate(time.Second)
	return Token{
		AccessToken:  raw.AccessToken,
		TokenType:    "bearer",
		IssuedAt:     issued,
		Expiry:       issued.Add(life),
		LifetimeFrom: from,
	}, nil
}

// classify turns an error from the oauth2 package into an *Error that says
// whether a retry may help; sc scrubs the secret from what it quotes.
func classify(err error, sc scrubber, status int, tooLarge bool, maxBody int64) *Error {
	if tooLarge {
		return &Error{Reason: fmt.Sprintf("token response refused: body larger than %d bytes", maxBody), StatusCode: status}
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		code := re.Response.StatusCode
		e := &Error{
			StatusCode:  code,
			Code:        sc.scrub(re.ErrorCode),
			Description: sc.scrub(re.ErrorDescription),
			Retryable:   code == http.StatusTooManyRequests || code >= 500,
		}
		switch {
		case code >= 200 && code < 300:
			e.Reason = "token response refused: it carries an OAuth error"
		case e.Retryable:
			e.Reason = "token endpoint unavailable"
		default:
			e.Reason = "token endpoint refused the request"
		}
		return e
	}
	if errors.Is(err, errRedirect) {
		return &Error{Reason: "token request refused", Err: errors.New(sc.scrub(unwrapURL(err).Error())), StatusCode: status}
	}
	var cve *tls.CertificateVerificationError
	var uae x509.UnknownAuthorityError
	var hne x509.HostnameError
	var ice x509.CertificateInvalidError
	if errors.As(err, &cve) || errors.As(err, &uae) || errors.As(err, &hne) || errors.As(err, &ice) {
		return &Error{Reason: "token endpoint's TLS certificate is not trusted", Err: errors.New(sc.scrub(unwrapURL(err).Error()))}
	}
	if status != 0 {
		// A response arrived and the oauth2 package could not read it: not
		// JSON, no access_token, a broken body. Retrying will not fix it.
		return &Error{Reason: "token response refused", StatusCode: status, Err: errors.New(sc.scrub(stripBody(unwrapURL(err).Error())))}
	}
	// No response: a network error or a timeout of this attempt.
	return &Error{Reason: "token request failed", Retryable: true, Err: errors.New(sc.scrub(unwrapURL(err).Error()))}
}

// unwrapURL drops *url.Error's "Post URL:" prefix, keeping the cause: the
// URL would show TOKEN_URL's query, which may hold a key.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// stripBody keeps the first line of an oauth2 error, which never quotes the body.
func stripBody(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimPrefix(s, "oauth2: ")
}

// RetryAfter parses a Retry-After header as of now: delay seconds or an
// HTTP date, at most a day; zero for none, a date past, or a bad value.
func RetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0
		}
		return time.Duration(min(s, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}

// Sleep waits d, or until ctx is done, whose error it then returns: the
// default Config.Sleep.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
