package imsemu

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

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
	// AssertionInForm reports whether the body held a client_assertion
	// (private_key_jwt); Form keeps client_assertion_type, not the assertion.
	AssertionInForm bool
}

// credentials are the client's id and secret, from the form or the
// Basic header. They never leave the request's handling.
type credentials struct {
	id, secret       string
	inForm, inHeader bool
	// assertionType and assertion are private_key_jwt's fields; url is
	// the token URL the request was sent to, an assertion's default aud.
	assertionType, assertion, url string
	// echo is the request as received, secret and all, for Fault.Echo.
	echo string
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
	creds.echo = echo(r, body)
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
	if form.Has("client_assertion") || form.Has("client_assertion_type") {
		creds.assertionType, creds.assertion = form.Get("client_assertion_type"), form.Get("client_assertion")
		form.Del("client_assertion")
		req.AssertionInForm = true
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	creds.url = scheme + "://" + r.Host + r.URL.Path
	if form.Has("client_id") {
		creds.inForm = true
		creds.id = form.Get("client_id")
	}
	req.Form = form
	return req, creds, nil
}

// echo renders r as a gateway echoing it might: method and path, the raw
// body, then the headers, sorted.
func echo(r *http.Request, body []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s body %s headers", r.Method, r.URL.Path, body)
	for _, name := range slices.Sorted(maps.Keys(r.Header)) {
		fmt.Fprintf(&b, " %s: %s;", name, strings.Join(r.Header[name], ", "))
	}
	return b.String()
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
