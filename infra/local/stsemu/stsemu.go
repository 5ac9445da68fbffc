// Package stsemu is a local stand-in for AWS STS's GetWebIdentityToken
// (IAM outbound identity federation), which moto_server lacks, and for the
// issuer its JWTs name: OIDC discovery and JWKS.
//
//	emu, _ := stsemu.New(stsemu.Config{Subject: "arn:aws:iam::123456789012:role/rotator"})
//	srv := httptest.NewServer(emu)
//	// point the SDK's STS client at srv.URL (AWS_ENDPOINT_URL_STS); the
//	// JWTs' iss is srv.URL, served at /.well-known/openid-configuration.
//
// It speaks the AWS query protocol as the SDK sends it (POST /, form
// Action=GetWebIdentityToken&Version=2011-06-15, Audience.member.N,
// SigningAlgorithm, DurationSeconds) and answers in its XML. It checks that
// the request is SigV4-signed (an Authorization header naming
// AWS4-HMAC-SHA256), not the signature. Each JWT is signed with the
// stand-in's own RSA 2048 (RS256) or P-384 (ES384) key, whose public half
// the JWKS serves, and carries iss, sub (Config.Subject), aud (a string for
// one audience, a list for more), iat, exp, jti and the
// "https://sts.amazonaws.com/" claims aws_account, source_region and
// principal_id, as the IAM documentation's sample token shows them.
package stsemu

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math/big"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config sets up a Server.
type Config struct {
	// Subject is the sub claim: the calling role's ARN. Required.
	Subject string
	// Issuer is the iss claim and the issuer discovery serves; empty means
	// http://<the Host of the request>, this server itself.
	Issuer string
	// Region is source_region; empty means eu-west-1.
	Region string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Server is the stand-in. Create it with New; it is an http.Handler.
type Server struct {
	cfg    Config
	rsaKey *rsa.PrivateKey
	ecKey  *ecdsa.PrivateKey

	mu       sync.Mutex
	calls    int
	down     int // status answered to every GetWebIdentityToken while not 0
	disabled bool
	issued   []string
}

// The key ids the JWKS lists.
const (
	KeyIDRS256 = "stsemu-rs256"
	KeyIDES384 = "stsemu-es384"
)

// New returns a Server with new keys.
func New(cfg Config) (*Server, error) {
	if cfg.Subject == "" {
		return nil, fmt.Errorf("stsemu: Config.Subject is required (the calling role's ARN)")
	}
	if cfg.Region == "" {
		cfg.Region = "eu-west-1"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("stsemu: making the RSA key: %w", err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("stsemu: making the P-384 key: %w", err)
	}
	return &Server{cfg: cfg, rsaKey: rk, ecKey: ek}, nil
}

// SetDown makes every GetWebIdentityToken answer status (a 5xx:
// ServiceUnavailable or InternalFailure, as STS words them) until
// SetDown(0).
func (s *Server) SetDown(status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = status
}

// SetDisabled makes GetWebIdentityToken answer
// OutboundWebIdentityFederationDisabledException, as for an account that
// never enabled outbound identity federation.
func (s *Server) SetDisabled(disabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disabled = disabled
}

// Calls returns how many GetWebIdentityToken requests arrived.
func (s *Server) Calls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// Issued returns the JWTs handed out, oldest first (for tests that check
// none shows where it must not).
func (s *Server) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// ServeHTTP serves GetWebIdentityToken on POST /, and the issuer's
// discovery document and JWKS.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/.well-known/openid-configuration":
		iss := s.issuer(r)
		writeJSON(w, map[string]any{
			"issuer": iss, "jwks_uri": iss + "/.well-known/jwks.json",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES384"},
			"subject_types_supported":               []string{"public"},
			"response_types_supported":              []string{"id_token"},
		})
	case r.Method == http.MethodGet && r.URL.Path == "/.well-known/jwks.json":
		writeJSON(w, map[string]any{"keys": []any{s.rsaJWK(), s.ecJWK()}})
	case r.Method == http.MethodPost && r.URL.Path == "/":
		s.query(w, r)
	default:
		http.NotFound(w, r)
	}
}

// issuer is the iss of the JWTs and of discovery.
func (s *Server) issuer(r *http.Request) string {
	if s.cfg.Issuer != "" {
		return s.cfg.Issuer
	}
	return "http://" + r.Host
}

// stsError is an AWS query protocol error.
type stsError struct {
	status        int
	kind          string // Sender or Receiver
	code, message string
}

// query serves one AWS query protocol request.
func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeError(w, stsError{400, "Sender", "MalformedQueryString", "the body is not a form"})
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		writeError(w, stsError{403, "Sender", "MissingAuthenticationToken", "Request is missing Authentication Token"})
		return
	}
	if a := r.PostForm.Get("Action"); a != "GetWebIdentityToken" {
		writeError(w, stsError{400, "Sender", "InvalidAction", fmt.Sprintf("Could not find operation %s for version 2011-06-15 (this stand-in serves GetWebIdentityToken only)", a)})
		return
	}
	s.mu.Lock()
	s.calls++
	down, disabled := s.down, s.disabled
	s.mu.Unlock()
	switch {
	case down == http.StatusServiceUnavailable:
		writeError(w, stsError{down, "Receiver", "ServiceUnavailable", "Service is unable to handle request."})
		return
	case down != 0:
		writeError(w, stsError{down, "Receiver", "InternalFailure", "The request processing has failed because of an unknown error, exception or failure."})
		return
	case disabled:
		writeError(w, stsError{403, "Sender", "OutboundWebIdentityFederationDisabledException", "Outbound web identity federation is disabled for this account."})
		return
	}
	jwt, exp, e := s.token(r)
	if e != nil {
		writeError(w, *e)
		return
	}
	s.mu.Lock()
	s.issued = append(s.issued, jwt)
	s.mu.Unlock()
	id := requestID()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", id)
	_, _ = fmt.Fprintf(w, `<GetWebIdentityTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetWebIdentityTokenResult>
    <WebIdentityToken>%s</WebIdentityToken>
    <Expiration>%s</Expiration>
  </GetWebIdentityTokenResult>
  <ResponseMetadata>
    <RequestId>%s</RequestId>
  </ResponseMetadata>
</GetWebIdentityTokenResponse>
`, jwt, exp.UTC().Format(time.RFC3339), id)
}

// audienceMember matches the query protocol's list members.
var audienceMember = regexp.MustCompile(`^Audience\.member\.([0-9]+)$`)

// token validates the parameters as STS does and signs a JWT.
func (s *Server) token(r *http.Request) (string, time.Time, *stsError) {
	invalid := func(format string, args ...any) (string, time.Time, *stsError) {
		return "", time.Time{}, &stsError{400, "Sender", "ValidationError", fmt.Sprintf(format, args...)}
	}
	var aud []string
	for k, v := range r.PostForm {
		if audienceMember.MatchString(k) && len(v) > 0 {
			aud = append(aud, v[0])
		}
	}
	switch {
	case len(aud) == 0:
		return invalid("1 validation error detected: Value null at 'audience' failed to satisfy constraint: Member must not be null")
	case len(aud) > 10:
		return invalid("Value at 'audience' failed to satisfy constraint: Member must have length less than or equal to 10")
	}
	for _, a := range aud {
		if a == "" {
			return invalid("Value at 'audience' failed to satisfy constraint: Member must have length greater than or equal to 1")
		}
	}
	alg := r.PostForm.Get("SigningAlgorithm")
	if alg != "RS256" && alg != "ES384" {
		return invalid("Value '%s' at 'signingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [RS256, ES384]", alg)
	}
	life := 300
	if v := r.PostForm.Get("DurationSeconds"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 60 || n > 3600 {
			return invalid("Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must be between 60 and 3600", v)
		}
		life = n
	}
	now := s.cfg.Now()
	exp := now.Add(time.Duration(life) * time.Second)
	var audClaim any = aud
	if len(aud) == 1 {
		audClaim = aud[0]
	}
	account := ""
	if parts := strings.Split(s.cfg.Subject, ":"); len(parts) > 4 {
		account = parts[4]
	}
	jti := make([]byte, 16)
	_, _ = rand.Read(jti)
	claims := map[string]any{
		"iss": s.issuer(r), "sub": s.cfg.Subject, "aud": audClaim,
		"iat": now.Unix(), "exp": exp.Unix(), "jti": hex.EncodeToString(jti),
		"https://sts.amazonaws.com/": map[string]any{
			"aws_account": account, "source_region": s.cfg.Region, "principal_id": s.cfg.Subject,
		},
	}
	jwt, err := s.sign(alg, claims)
	if err != nil {
		return "", time.Time{}, &stsError{500, "Receiver", "InternalFailure", err.Error()}
	}
	return jwt, exp, nil
}

// sign makes a compact JWS of claims with alg.
func (s *Server) sign(alg string, claims map[string]any) (string, error) {
	kid := KeyIDRS256
	if alg == "ES384" {
		kid = KeyIDES384
	}
	h, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT", "kid": kid})
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signed := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	var sig []byte
	if alg == "RS256" {
		d := sha256.Sum256([]byte(signed))
		sig, err = rsa.SignPKCS1v15(rand.Reader, s.rsaKey, crypto.SHA256, d[:])
	} else {
		d := sha512.Sum384([]byte(signed))
		var rr, ss *big.Int
		rr, ss, err = ecdsa.Sign(rand.Reader, s.ecKey, d[:])
		if err == nil {
			sig = make([]byte, 96)
			rr.FillBytes(sig[:48])
			ss.FillBytes(sig[48:])
		}
	}
	if err != nil {
		return "", err
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func (s *Server) rsaJWK() map[string]string {
	pub := s.rsaKey.PublicKey
	return map[string]string{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": KeyIDRS256,
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}
}

func (s *Server) ecJWK() map[string]string {
	point, _ := s.ecKey.PublicKey.Bytes() // 0x04 || X || Y, 48 bytes each
	x, y := point[1:49], point[49:]
	return map[string]string{"kty": "EC", "use": "sig", "alg": "ES384", "kid": KeyIDES384, "crv": "P-384",
		"x": b64(x), "y": b64(y)}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers an AWS query protocol error.
func writeError(w http.ResponseWriter, e stsError) {
	id := requestID()
	w.Header().Set("Content-Type", "text/xml")
	w.Header().Set("X-Amzn-Requestid", id)
	w.WriteHeader(e.status)
	var msg strings.Builder
	_ = xml.EscapeText(&msg, []byte(e.message))
	_, _ = fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>%s</Type>
    <Code>%s</Code>
    <Message>%s</Message>
  </Error>
  <RequestId>%s</RequestId>
</ErrorResponse>
`, e.kind, e.code, msg.String(), id)
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[:4], b[4:6], b[6:8], b[8:10], b[10:])
}
