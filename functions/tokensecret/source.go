package tokensecret

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// Source hands out the token stored in the token secret. It reads the secret
// once, keeps the token in memory, and reads again only when the token comes
// within its margin of its expiry (Config.Margin; by default 5 min, less for
// tokens that live under 30 min), after Invalidate, or when a caller reports
// the token as rejected (Reject). It never returns an expired token.
//
// A Source is safe for concurrent use. At most one read is in flight at a
// time; callers that need a read while one runs wait for it. When a read
// fails while the cached token is still valid, callers get the cached token,
// the failure is logged, and the next read waits for Config.RetryInterval.
//
// Source implements oauth2.TokenSource.
type Source struct {
	secretID string
	read     readFunc
	margin   time.Duration // Config.Margin; zero means marginFor's default
	retry    time.Duration
	timeout  time.Duration
	now      func() time.Time
	log      *slog.Logger
	// apiKeyHeader is where SetAuthHeader puts the client id; "" for nowhere.
	apiKeyHeader string

	cur   atomic.Pointer[entry] // the cached token; replaced under mu
	stale atomic.Bool           // Invalidate or Reject asked for a read

	mu         sync.Mutex
	inflight   *call     // the read in flight, if any
	notBefore  time.Time // while cur is valid, no read before this unless forced
	rejected   string    // the access token a forced read was last made for
	rejectedAt time.Time // when that forced read started
}

// entry is one cached token with the times the Source acts on.
type entry struct {
	tok       Token
	oauth     *oauth2.Token
	expiry    time.Time // tok.Expiry, or the end of time for a static token without one
	refreshAt time.Time // expiry - marginFor(tok, Config.Margin)
}

// call is one read of the secret; done is closed when ent or err is set.
type call struct {
	done chan struct{}
	ent  *entry
	err  error
}

// endOfTime stands in for the expiry of a static token that has none.
func endOfTime() time.Time { return time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC) }

// New returns a Source for the token secret cfg.SecretID. It reads nothing
// until the first call to Get or Token.
func New(cfg Config) (*Source, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("configuring token source: %w", err)
	}
	read := readFromClient(cfg.Client, cfg.SecretID)
	if cfg.Extension {
		read = readFromExtension(cfg)
	}
	return newSource(cfg, read), nil
}

// StaticSource returns a Source that always hands out tok, without reading
// anything: for local runs and for consumers' own tests. A zero tok.Expiry
// means the token never expires; otherwise the Source refuses it with
// ErrExpired once it has expired, like any Source. See also package
// tokensecrettest.
func StaticSource(tok Token) *Source {
	read := func(context.Context, bool) (Token, error) {
		if tok.AccessToken == "" {
			return Token{}, ErrNoToken
		}
		return tok, nil
	}
	return newSource(Config{
		SecretID:      "static",
		RetryInterval: DefaultRetryInterval,
		ReadTimeout:   DefaultReadTimeout,
		Now:           time.Now,
		Logger:        slog.New(slog.DiscardHandler),
	}, read)
}

// newSource builds a Source from a Config with its defaults filled in.
func newSource(cfg Config, read readFunc) *Source {
	return &Source{
		secretID: cfg.SecretID,
		read:     read,
		margin:   cfg.Margin,
		retry:    cfg.RetryInterval,
		timeout:  cfg.ReadTimeout,
		now:      cfg.Now,
		log:      cfg.Logger.With("secret_id", cfg.SecretID),

		apiKeyHeader: cfg.apiKeyHeader(),
	}
}

// Get returns a token that has not expired, reading the secret if the cached
// one is missing, within the margin of its expiry, or invalidated. If ctx
// ends while Get waits for a read, Get returns the cached token if it is
// still valid, or ctx's error. The read itself is not cut short by ctx; it
// is bounded by Config.ReadTimeout.
func (s *Source) Get(ctx context.Context) (Token, error) {
	e, err := s.get(ctx)
	if err != nil {
		return Token{}, err
	}
	return e.tok, nil
}

// Token implements oauth2.TokenSource: it is Get with a background context,
// as an *oauth2.Token. The returned token is shared; do not modify it.
func (s *Source) Token() (*oauth2.Token, error) {
	e, err := s.get(context.Background())
	if err != nil {
		return nil, err
	}
	return e.oauth, nil
}

// Invalidate makes the next Get read the secret, whatever the cached token's
// expiry. If that read fails, the cached token is still served while valid.
func (s *Source) Invalidate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stale.Store(true)
	s.notBefore = time.Time{}
}

// Reject reports that an API refused tok (say, with HTTP 401) and returns the
// token to use now. If tok is still the cached token, Reject reads the secret
// again, past the Source's cache, and returns what it finds; if tok was
// already replaced, it returns the replacement without reading. Any number of
// concurrent Rejects of one token cause one read, and a token the secret
// still holds after such a read is not read for again before
// Config.RetryInterval. The returned token can be tok itself: the secret has
// nothing newer.
//
// In extension mode (Config.Extension), Reject cannot get past the
// extension's own cache, which keeps a value for SECRETS_MANAGER_TTL (up to
// 300 s): until that cache expires, the read may return the rejected token
// again, and Get and Reject keep serving it, for up to that TTL plus one
// Config.RetryInterval. Read from Secrets Manager (Config.Client) where a
// revoked token must be dropped at once.
func (s *Source) Reject(ctx context.Context, tok Token) (Token, error) {
	e, err := s.reject(ctx, tok.AccessToken)
	if err != nil {
		return Token{}, err
	}
	return e.tok, nil
}

// String names the Source by its secret; it never shows a token.
func (s *Source) String() string { return fmt.Sprintf("tokensecret.Source{secret_id: %s}", s.secretID) }

// Format writes String for every verb, so that printing a Source never shows
// its cached token.
func (s *Source) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// LogValue logs the Source by its secret id.
func (s *Source) LogValue() slog.Value { return slog.GroupValue(slog.String("secret_id", s.secretID)) }

// get is Get returning the cache entry.
func (s *Source) get(ctx context.Context) (*entry, error) {
	if e := s.cur.Load(); e != nil && !s.stale.Load() && s.now().Before(e.refreshAt) {
		return e, nil
	}
	s.mu.Lock()
	now := s.now()
	e := s.cur.Load()
	valid := e != nil && now.Before(e.expiry)
	if valid && !s.stale.Load() && now.Before(e.refreshAt) {
		s.mu.Unlock()
		return e, nil // another caller's read refreshed it
	}
	c := s.inflight
	if c == nil {
		if valid && now.Before(s.notBefore) {
			s.mu.Unlock()
			return e, nil // a recent read failed or found nothing newer
		}
		c = s.startLocked(ctx, false, s.reasonLocked(e, now))
	}
	s.mu.Unlock()
	return s.wait(ctx, c, e)
}

// reject is Reject returning the cache entry.
func (s *Source) reject(ctx context.Context, accessToken string) (*entry, error) {
	s.mu.Lock()
	now := s.now()
	e := s.cur.Load()
	if e == nil || e.tok.AccessToken != accessToken {
		s.mu.Unlock()
		return s.get(ctx) // already replaced
	}
	if s.rejected == accessToken && now.Before(s.rejectedAt.Add(s.retry)) {
		s.mu.Unlock()
		s.log.Debug("token reported as rejected again; not reading before the retry interval",
			"version", e.tok.Version, "retry_at", s.rejectedAt.Add(s.retry))
		return s.get(ctx)
	}
	s.rejected, s.rejectedAt = accessToken, now
	s.stale.Store(true)
	c := s.inflight
	if c == nil {
		c = s.startLocked(ctx, true, "rejected")
	}
	s.mu.Unlock()
	return s.wait(ctx, c, e)
}

// reasonLocked says why a read is needed, for the log.
func (s *Source) reasonLocked(e *entry, now time.Time) string {
	switch {
	case e == nil:
		return "first read"
	case !now.Before(e.expiry):
		return "expired"
	case s.stale.Load():
		return "invalidated"
	default:
		return "near expiry"
	}
}

// startLocked starts a read in its own goroutine, so that no caller's
// context can cut it short for the others. s.mu must be held.
func (s *Source) startLocked(ctx context.Context, forced bool, reason string) *call {
	c := &call{done: make(chan struct{})}
	s.inflight = c
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
	go func() {
		defer cancel()
		s.run(rctx, c, forced, reason)
	}()
	return c
}

// run reads the secret, updates the cache and completes c.
func (s *Source) run(ctx context.Context, c *call, forced bool, reason string) {
	tok, err := s.read(ctx, forced)
	now := s.now()
	if err == nil && !tok.Expiry.IsZero() && !now.Before(tok.Expiry) {
		err = fmt.Errorf("%w: version %s expired at %s", ErrExpired, tok.Version, tok.Expiry.UTC().Format(time.RFC3339))
	}

	s.mu.Lock()
	prev := s.cur.Load()
	if err != nil {
		c.err = fmt.Errorf("reading token secret %q: %w", s.secretID, err)
		s.notBefore = now.Add(s.retry)
	} else {
		c.ent = newEntry(tok, marginFor(tok, s.margin))
		s.cur.Store(c.ent)
		s.stale.Store(false)
		s.notBefore = time.Time{}
		if !now.Before(c.ent.refreshAt) {
			s.notBefore = now.Add(s.retry)
		}
	}
	s.inflight = nil
	notBefore := s.notBefore
	s.mu.Unlock()
	// The line is logged before the waiters are released, so that a caller
	// that has its answer finds the line logged.
	defer close(c.done)

	servingCached := prev != nil && now.Before(prev.expiry)
	switch {
	case err != nil && servingCached:
		s.log.Warn("reading token secret failed; serving the cached token",
			"reason", reason, "err", err, "cached_version", prev.tok.Version,
			"cached_expiry", prev.expiry, "retry_at", notBefore)
	case err != nil:
		s.log.Warn("reading token secret failed", "reason", reason, "err", err)
	case !notBefore.IsZero():
		s.log.Warn("token secret holds a token close to expiry; is the rotator running?",
			"reason", reason, "version", tok.Version, "expiry", tok.Expiry, "retry_at", notBefore)
	default:
		s.log.Info("read token secret", "reason", reason, "version", tok.Version,
			"expiry", tok.Expiry, "refresh_at", c.ent.refreshAt,
			"changed", prev == nil || prev.tok.AccessToken != tok.AccessToken)
	}
}

// wait waits for c, or for ctx, and picks what to return: the read's token,
// or the cached token e while it is valid, or an error.
func (s *Source) wait(ctx context.Context, c *call, e *entry) (*entry, error) {
	select {
	case <-c.done:
	case <-ctx.Done():
		if e != nil && s.now().Before(e.expiry) {
			return e, nil
		}
		return nil, fmt.Errorf("waiting for token secret %q: %w", s.secretID, context.Cause(ctx))
	}
	if c.err == nil {
		return c.ent, nil
	}
	now := s.now()
	if cur := s.cur.Load(); cur != nil && now.Before(cur.expiry) {
		return cur, nil
	}
	if e != nil {
		return nil, fmt.Errorf("%w: the cached token expired at %s, and %w",
			ErrExpired, e.expiry.UTC().Format(time.RFC3339), c.err)
	}
	return nil, c.err
}

// newEntry caches tok, to be read again margin before its expiry.
func newEntry(tok Token, margin time.Duration) *entry {
	expiry := tok.Expiry
	if expiry.IsZero() {
		expiry = endOfTime()
	}
	return &entry{tok: tok, oauth: tok.OAuth2(), expiry: expiry, refreshAt: expiry.Add(-margin)}
}
