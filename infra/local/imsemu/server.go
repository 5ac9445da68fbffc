package imsemu

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// TokenPath is the path of the token endpoint, as on IMS.
const TokenPath = "/ims/token/v3"

// DefaultExpiresIn is the token lifetime IMS announces, in seconds, and that
// of a Profile whose ExpiresIn is zero.
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
	// OrgID and CredentialID place the client under the I/O Management
	// API's /console/organizations/{OrgID}/credentials/{CredentialID}/secrets
	// (see ManagementPrefix); an empty CredentialID serves no management
	// calls for this client.
	OrgID, CredentialID string
	// PublicKey is the key a private_key_jwt client registered (RSA or
	// P-256): its assertions must verify with it. A client has secrets or
	// a key, not both.
	PublicKey crypto.PublicKey
	// KeyID is the kid the key was registered under; empty accepts any.
	KeyID string
	// Certificate is the certificate a client registered instead of a bare
	// key, as Entra ID takes: its key is PublicKey (which may then be nil),
	// and each assertion must name it by its thumbprint in an x5t#S256
	// (SHA-256) or x5t (SHA-1) header.
	Certificate *x509.Certificate
	// Audience is the aud its assertions must carry; empty means the token
	// URL the request was sent to.
	Audience string
	// Federated are the client's federated identity credentials, on a
	// profile with Federation (Entra): an external issuer's JWT matching
	// one authenticates the client, which then needs no secret or key.
	Federated []FederatedCredential
}

// Config sets up a Server.
type Config struct {
	// Clients maps client ids to clients. More can be added with SetClient.
	Clients map[string]Client
	// Profile is the provider whose token endpoint the server plays; the
	// zero value means the IMS profile.
	Profile Profile
	// ExpiresIn is the lifetime of issued tokens, in seconds: their
	// expires_in and their exp claim; zero means the profile's ExpiresIn.
	ExpiresIn int64
	// FormAnswer makes the server answer form-encoded (Content-Type
	// application/x-www-form-urlencoded, every value a string) instead of
	// JSON, token answers and refusals alike; faults keep their bodies.
	FormAnswer bool
	// OmitExpiresIn leaves expires_in out of token answers, for testing a
	// client's fallback on the JWT exp claim. Other lifetime fields (Entra's
	// ext_expires_in and expires_on) stay.
	OmitExpiresIn bool
	// Logger receives one line per request (status, client id, debug id,
	// fault), never a secret or a token; nil means no logging.
	Logger *slog.Logger
	// Now is the clock for Issued.IssuedAt; nil means time.Now.
	Now func() time.Time
	// HTTPClient reads federated issuers' discovery documents and JWKS;
	// nil means a client with a 5-second timeout.
	HTTPClient *http.Client
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
	// SecretUUID is the uuid of the client secret that authenticated the
	// request (as Secrets and the management calls list it): which secret
	// minted the token. Empty for a client that authenticated otherwise
	// (an assertion).
	SecretUUID string
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

// Server is the emulated token endpoint. Create it with New.
type Server struct {
	logger        *slog.Logger
	httpClient    *http.Client
	now           func() time.Time
	profile       Profile
	dialect       dialect
	key           []byte // signs JWTs
	expiresIn     int64
	formAnswer    bool
	omitExpiresIn bool
	done          chan struct{}
	closeOnce     sync.Once

	mu       sync.Mutex
	clients  map[string]*client
	queue    []Fault
	sticky   *Fault
	mqueue   []ManagementFault
	msticky  *ManagementFault
	requests int
	issued   []Issued
	last     *Request
	jtis     map[string]time.Time // client id and jti of each assertion seen, until its exp
}

// New returns a Server for cfg. It fails when a client has no secret or
// more than MaxSecrets, or when the profile's path is not a valid pattern.
func New(cfg Config) (*Server, error) {
	profile, err := cfg.Profile.resolve()
	if err != nil {
		return nil, err
	}
	s := &Server{
		logger:        cfg.Logger,
		httpClient:    cfg.HTTPClient,
		now:           cfg.Now,
		profile:       profile,
		dialect:       dialectFor(profile.Name),
		key:           make([]byte, 32),
		expiresIn:     cfg.ExpiresIn,
		formAnswer:    cfg.FormAnswer,
		omitExpiresIn: cfg.OmitExpiresIn,
		done:          make(chan struct{}),
		clients:       map[string]*client{},
	}
	_, _ = rand.Read(s.key)
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.httpClient == nil {
		s.httpClient = &http.Client{Timeout: 5 * time.Second}
	}
	if s.expiresIn == 0 {
		s.expiresIn = profile.ExpiresIn
	}
	for id, c := range cfg.Clients {
		if err := s.SetClient(id, c); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// SetClient registers or replaces a client, for instance to rotate its
// secrets while the server runs. A secret the client already held keeps its
// uuid, creation time and last use; a new one gets a new uuid.
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
	if c.Certificate != nil {
		switch {
		case c.PublicKey == nil:
			c.PublicKey = c.Certificate.PublicKey
		case !publicKeyEqual(c.PublicKey, c.Certificate.PublicKey):
			return fmt.Errorf("registering client %q: the public key is not the certificate's", id)
		}
	}
	switch {
	case c.PublicKey != nil && len(secrets) > 0:
		return fmt.Errorf("registering client %q: client secrets and a public key, want one or the other", id)
	case len(secrets) > MaxSecrets || c.PublicKey == nil && len(c.Federated) == 0 && len(secrets) == 0:
		return fmt.Errorf("registering client %q: %d client secrets, want 1 to %d (or a public key, or federated credentials)", id, len(secrets), MaxSecrets)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clients[id] = s.newClient(s.clients[id], secrets, c)
	return nil
}

// RemoveClient unregisters a client: its requests then get invalid_client.
func (s *Server) RemoveClient(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.clients, id)
}

// Path returns the token path pattern of the server's profile, such as
// "/{tenant}/oauth2/v2.0/token": the caller replaces each {placeholder}
// with any one path segment to build a token URL.
func (s *Server) Path() string {
	return s.profile.Path
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
	s.mqueue, s.msticky = nil, nil
}

// Close releases the requests a Hang fault holds and makes later Hang
// faults return at once. Call it before closing the HTTP server, which
// waits for its handlers. It is safe to call twice.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

// ServeHTTP answers POST on any path matching the profile's Path, and,
// under the IMS profile, the management calls under ManagementPrefix
// (token faults do not apply to them; management faults do, see
// ManagementFault); other paths get 404, other methods 405.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	debugID := newDebugID()
	w.Header().Set("X-Debug-Id", debugID)
	if s.profile.Name == "ims" && strings.HasPrefix(r.URL.Path, ManagementPrefix) {
		s.serveManagement(w, r, debugID)
		return
	}
	if !matchPath(s.profile.Path, r.URL.Path) {
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

// answer validates the request and writes the profile's answer, trickling
// the body when trickle is above zero. It records an issued token before
// writing it, and returns the status.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, req Request, creds credentials, parseErr error, debugID string, trickle time.Duration) int {
	if c := s.check(req, creds, parseErr); c != nil {
		return s.refuse(w, r, *c, debugID)
	}
	g := grant{clientID: creds.id, scope: req.Form.Get("scope"), form: req.Form, now: s.now(), lifetime: s.expiresIn}
	g.token = s.accessToken(g)
	tok := Issued{AccessToken: g.token, ClientID: g.clientID, Scope: g.scope, DebugID: debugID, IssuedAt: g.now}
	s.mu.Lock()
	tok.SecretUUID = s.secretUUID(creds)
	s.issued = append(s.issued, tok)
	s.mu.Unlock()
	fields := s.dialect.answer(g)
	if s.omitExpiresIn {
		fields = without(fields, "expires_in")
	}
	ctype, body := s.encode(fields)
	s.writeBody(w, r, http.StatusOK, ctype, body, trickle)
	return http.StatusOK
}

// secretUUID is the uuid of the secret creds authenticated with; empty
// without one. s.mu is held.
func (s *Server) secretUUID(creds credentials) string {
	c, ok := s.clients[creds.id]
	if !ok || creds.secret == "" {
		return ""
	}
	if i := secretIndex(c.secrets, creds.secret); i >= 0 {
		return c.secrets[i].uuid
	}
	return ""
}

// refuse words c as the profile does, writes it and returns its status.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, c refusalCase, debugID string) int {
	ref := imsRefusal(c)
	if s.dialect.refuse != nil {
		ref = s.dialect.refuse(c)
	}
	layout := oauthErrorBody
	if s.dialect.errorBody != nil {
		layout = s.dialect.errorBody
	}
	ctype, body := s.encode(layout(ref, debugID, s.now()))
	s.writeBody(w, r, ref.status, ctype, body, 0)
	return ref.status
}

// accessToken makes the token for g: a JWT or an opaque string, as the
// profile says.
func (s *Server) accessToken(g grant) string {
	if s.profile.JWT {
		var extra []field
		if s.dialect.claims != nil {
			extra = s.dialect.claims(g)
		}
		return jwt(s.key, "imsemu/"+s.profile.Name, g, extra)
	}
	if s.dialect.opaque != nil {
		return s.dialect.opaque()
	}
	return newToken()
}

// encode lays fields out as JSON, or form-encoded under FormAnswer.
func (s *Server) encode(fields []field) (contentType string, body []byte) {
	if s.formAnswer {
		return formType, encodeForm(fields)
	}
	return jsonType, encodeJSON(fields)
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
	attrs := []any{"profile", s.profile.Name, "method", r.Method, "path", r.URL.Path, "status", status, "client_id", clientID, "debug_id", debugID}
	if fault != "" {
		attrs = append(attrs, "fault", fault)
	}
	s.logger.Info("token request", attrs...)
}

// publicKeyEqual reports whether a and b are the same public key.
func publicKeyEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}
