package oauthtoken

import (
	"context"
	"errors"
	"net/url"
)

// ClientAuth is how a client proves itself at the token endpoint (RFC 6749
// section 2.3, RFC 7523 section 2.2). The Fetcher asks it once per attempt,
// retries included, and adds what it returns to the token request; it knows
// no method by name. BodyAuth, BasicAuth, JWTAuth and WebIdentityAuth are
// the methods.
type ClientAuth interface {
	// Authenticate returns the client authentication of one request to
	// tokenURL for creds. An error means no request is sent; it must quote
	// no secret and no assertion.
	Authenticate(ctx context.Context, creds Credentials, tokenURL string) (Authentication, error)
}

// Authentication is what one token request carries to authenticate the
// client, besides client_id, which the request always carries (in the form,
// or in the Basic header when Header is set).
type Authentication struct {
	// Secret is the client secret sent; empty sends none.
	Secret string
	// Header puts client_id and Secret in an HTTP Basic header (RFC 6749
	// section 2.3.1) instead of the form.
	Header bool
	// Form holds the form fields added to the request (client_assertion and
	// client_assertion_type for private_key_jwt).
	Form url.Values
	// Scrub holds values that are credentials besides the secret (an
	// assertion): they are scrubbed from whatever the endpoint answers.
	Scrub []string
}

// errNoSecret is the refusal of a secret-based method without a secret.
var errNoSecret = errors.New("client_id and client_secret are both required")

// BodyAuth sends client_id and client_secret as form fields
// (client_secret_post), as Adobe IMS wants. It is the default.
type BodyAuth struct{}

// Authenticate implements ClientAuth.
func (BodyAuth) Authenticate(_ context.Context, creds Credentials, _ string) (Authentication, error) {
	if creds.ClientID == "" || creds.ClientSecret == "" {
		return Authentication{}, errNoSecret
	}
	return Authentication{Secret: creds.ClientSecret}, nil
}

// BasicAuth sends client_id and client_secret in an HTTP Basic header
// (client_secret_basic, RFC 6749 section 2.3.1).
type BasicAuth struct{}

// Authenticate implements ClientAuth.
func (BasicAuth) Authenticate(_ context.Context, creds Credentials, _ string) (Authentication, error) {
	if creds.ClientID == "" || creds.ClientSecret == "" {
		return Authentication{}, errNoSecret
	}
	return Authentication{Secret: creds.ClientSecret, Header: true}, nil
}
