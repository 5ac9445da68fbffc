package imsemu

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"
)

// TokenPath is the path of the token endpoint, as on IMS.
const TokenPath = "/ims/token/v3"

// DefaultExpiresIn is the token lifetime IMS announces, in seconds.
const DefaultExpiresIn = 86399

// MaxSecrets is how many client secrets a client can hold at once, as on
// Adobe's Developer Console (two, for rotating the secret without downtime).
const MaxSecrets = 2

// maxForm caps the request body the server reads.
const maxForm = 64 << 10

// Client is a registered OAuth client.
type Client struct {
	// Secrets are the client secrets that are valid now: one or two
	// (MaxSecrets), empty strings ignored.
	Secrets []string
	// Scopes are the scopes the client may ask for; a request naming any
	// other gets invalid_scope. Empty allows every scope.
	Scopes []string
}

// Config sets up a Server.
type Config struct {
	// Clients maps client ids to clients. More can be added with SetClient.
	Clients map[string]Client
	// ExpiresIn is the expires_in of issued tokens, in seconds; zero means
	// DefaultExpiresIn.
	ExpiresIn int64
	// Logger receives one line per request (status, client id, debug id,
	// fault), never a secret or a token; nil means no logging.
	Logger *slog.Logger
	// Now is the clock for Issued.IssuedAt; nil means time.Now.
	Now func() time.Time
}

// Issued is a token the server handed out.
type Issued struct {
	// AccessToken is the token itself. String and LogValue redact it.
	AccessToken string
	// ClientID and Scope are those of the request.
	ClientID string
	Scope    string
	// DebugID is the response's X-Debug-Id.
	DebugID string
	// IssuedAt is when the server answered.
	IssuedAt time.Time
}

// String describes the token without revealing it.
func (i Issued) String() string {
	return fmt.Sprintf("token for %q (scope %q, debug id %s, %d chars)", i.ClientID, i.Scope, i.DebugID, len(i.AccessToken))
}

// LogValue logs the token without revealing it.
func (i Issued) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("client_id", i.ClientID), slog.String("scope", i.Scope),
		slog.String("debug_id", i.DebugID), slog.Int("access_token_len", len(i.AccessToken)))
}

// Request is what a client sent, without its secret.
type Request struct {
	// Method and ContentType are the request's.
	Method      string
	ContentType string
	// Form is the parsed body with client_secret removed.
	Form url.Values
	// BasicAuth reports whether an Authorization: Basic header came; its
	// user (the client id) is in BasicUser, its password nowhere.
	BasicAuth bool
	BasicUser string
	// SecretInForm reports whether the body held a client_secret field.
	SecretInForm bool
}

// Server is the emulated token endpoint. Create it with New.
type Server struct {
	logger    *slog.Logger
	now       func() time.Time
	expiresIn int64
	done      chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	clients  map[string]Client
	queue    []Fault
	sticky   *Fault
	requests int
	issued   []Issued
	last     *Request
}

// New returns a Server for cfg. It fails when a client has no secret or
// more than MaxSecrets.
func New(cfg Config) (*Server, error) {
	s := &Server{
		logger:    cfg.Logger,
		now:       cfg.Now,
		expiresIn: cfg.ExpiresIn,
		done:      make(chan struct{}),
		clients:   map[string]Client{},
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.expiresIn == 0 {
		s.expiresIn = DefaultExpiresIn
	}
	for id, c := range cfg.Clients {
		if err := s.SetClient(id, c); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// SetClient registers or replaces a client, for instance to rotate its
// secrets while the server runs.
func (s *Server) SetClient(id string, c Client) error {
	if id == "" {
		return fmt.Errorf("registering a client: empty client id")
	}
	var secrets []string
	for _, sec := range c.Secrets {
		if sec != "" {
			secrets = append(secrets, sec)
		}
	}
	if len(secrets) == 0 || len(secrets) > MaxSecrets {
		return fmt.Errorf("registering client %q: %d client secrets, want 1 to %d", id, len(secrets), MaxSecrets)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[id] = Client{Secrets: secrets, Scopes: slices.Clone(c.Scopes)}
	return nil
}

// RemoveClient unregisters a client: its requests then get invalid_client.
func (s *Server) RemoveClient(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.clients, id)
}

// Requests returns how many requests reached the token path.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Issued returns the tokens issued so far, oldest first.
func (s *Server) Issued() []Issued {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issued)
}

// LastRequest returns the last request on the token path, without its
// client secret; false when there was none.
func (s *Server) LastRequest() (Request, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last == nil {
		return Request{}, false
	}
	r := *s.last
	r.Form = cloneValues(r.Form)
	return r, true
}

// ResetCounters forgets the requests, tokens and last request seen, and
// drops queued and sticky faults. Clients stay.
func (s *Server) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests, s.issued, s.last, s.queue, s.sticky = 0, nil, nil, nil, nil
}

// Close releases the requests a Hang fault holds and makes later Hang
// faults return at once. Call it before closing the HTTP server, which
// waits for its handlers. It is safe to call twice.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

// ServeHTTP answers POST TokenPath; other paths get 404, other methods 405.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	debugID := newDebugID()
	w.Header().Set("X-Debug-Id", debugID)
	if r.URL.Path != TokenPath {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint")
		return
	}
	s.mu.Lock()
	s.requests++
	s.mu.Unlock()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "invalid_request", "method not allowed, use POST")
		s.log(r, http.StatusMethodNotAllowed, "", debugID, "")
		return
	}
	req, creds, parseErr := readRequest(r)
	s.mu.Lock()
	s.last = &req
	f, faulted := s.nextFault()
	s.mu.Unlock()

	if faulted {
		status := s.serveFault(w, r, f, req, creds, parseErr, debugID)
		s.log(r, status, clientOf(req), debugID, f.Name)
		return
	}
	status := s.answer(w, r, req, creds, parseErr, debugID, 0)
	s.log(r, status, clientOf(req), debugID, "")
}

// answer validates the request and writes the IMS answer, trickling the
// body when trickle is above zero. It records an issued token before
// writing it, and returns the status.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, req Request, creds credentials, parseErr error, debugID string, trickle time.Duration) int {
	oauthErr := s.check(req, creds, parseErr)
	if oauthErr != nil {
		writeError(w, http.StatusBadRequest, oauthErr.code, oauthErr.description)
		return http.StatusBadRequest
	}
	tok := Issued{AccessToken: newToken(), ClientID: creds.id, Scope: req.Form.Get("scope"), DebugID: debugID, IssuedAt: s.now()}
	s.mu.Lock()
	s.issued = append(s.issued, tok)
	s.mu.Unlock()
	body := fmt.Sprintf(`{"access_token":%q,"token_type":"bearer","expires_in":%d}`, tok.AccessToken, s.expiresIn)
	s.writeBody(w, r, http.StatusOK, jsonType, []byte(body), trickle)
	return http.StatusOK
}

// nextFault pops the queue, or else returns the sticky fault. s.mu is held.
func (s *Server) nextFault() (Fault, bool) {
	if len(s.queue) > 0 {
		f := s.queue[0]
		s.queue = s.queue[1:]
		return f, true
	}
	if s.sticky != nil {
		return *s.sticky, true
	}
	return Fault{}, false
}

func (s *Server) log(r *http.Request, status int, clientID, debugID, fault string) {
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", status, "client_id", clientID, "debug_id", debugID}
	if fault != "" {
		attrs = append(attrs, "fault", fault)
	}
	s.logger.Info("ims token request", attrs...)
}

// credentials are the client's id and secret, from the form or the
// Basic header. They never leave the request's handling.
type credentials struct {
	id, secret       string
	inForm, inHeader bool
}

// readRequest parses the form and the Basic header into a Request that
// holds no secret, and the credentials.
func readRequest(r *http.Request) (Request, credentials, error) {
	req := Request{Method: r.Method, ContentType: r.Header.Get("Content-Type"), Form: url.Values{}}
	var creds credentials
	if user, pass, ok := basicAuth(r); ok {
		req.BasicAuth, req.BasicUser = true, user
		creds = credentials{id: user, secret: pass, inHeader: true}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxForm+1))
	if err != nil {
		return req, creds, fmt.Errorf("reading the body: %w", err)
	}
	if len(body) > maxForm {
		return req, creds, fmt.Errorf("body larger than %d bytes", maxForm)
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return req, creds, fmt.Errorf("body is not form-encoded")
	}
	if form.Has("client_secret") {
		req.SecretInForm = true
		creds.inForm = true
		creds.secret = form.Get("client_secret")
		form.Del("client_secret")
	}
	if form.Has("client_id") {
		creds.inForm = true
		creds.id = form.Get("client_id")
	}
	req.Form = form
	return req, creds, nil
}

func clientOf(req Request) string {
	if id := req.Form.Get("client_id"); id != "" {
		return id
	}
	return req.BasicUser
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}
