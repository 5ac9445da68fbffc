package tokensecret

import (
	"fmt"
	"io"
	"net/http"
)

// maxDrain is how much of a refused response's body is read, so that its
// connection can be reused, before it is closed.
const maxDrain = 64 << 10

// Transport is an http.RoundTripper that authenticates each request with a
// token from Source, through Source.SetAuthHeader: it sets
// "Authorization: Bearer <token>" and, unless the Source's Config says
// otherwise (Config.APIKeyHeader, Config.OmitAPIKey), "x-api-key: <client
// id>", as Adobe APIs want.
//
// When the API answers 401 Unauthorized, Transport always reports the token
// as rejected (Source.Reject, which reads the secret again past the Source's
// cache, at most once per Config.RetryInterval for one token), so that later
// requests carry the new token. If that yields a different token and the
// request body can be sent again (no body, or GetBody set, as
// http.NewRequest does for in-memory bodies), it sends the request once more
// with it. Otherwise the 401 response is returned as is, body unread: a
// one-shot body, such as a streamed upload, is never sent twice. In extension
// mode (Config.Extension) the re-read cannot get past the Lambda extension's
// own cache, so the rejected token may be sent again until that cache
// expires (SECRETS_MANAGER_TTL, at most 300 s); see Source.Reject.
//
// The token goes only to the origin (scheme, host and port) of the request
// the caller made. An http.Client sends each redirect hop through RoundTrip
// again: a hop to the same origin carries the token (and is retried after a
// 401 as above); a hop to any other origin (another host, a subdomain,
// another port, http to https) is sent without Authorization and without
// the client id header, the caller's own included, and its 401 rejects no
// token; a hop from https to plain http is refused with an error naming the
// target, and nothing is sent. The origin is found through each redirect
// response's Request; if a RoundTripper wrapped around Transport drops it,
// every hop is sent without the token.
//
// Transport never modifies the caller's request; it sends clones.
type Transport struct {
	// Source gives the tokens. Required.
	Source *Source

	// Base sends the requests. Nil means http.DefaultTransport.
	Base http.RoundTripper
}

// NewClient returns an *http.Client whose Transport adds src's token to
// every request. Give it a Timeout if the API may hang.
func NewClient(src *Source) *http.Client {
	return &http.Client{Transport: &Transport{Source: src}}
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if origin := firstURL(req); origin == nil || !sameOrigin(origin, req.URL) {
		return t.elsewhere(req, origin)
	}
	ctx := req.Context()
	tok, err := t.Source.Get(ctx)
	if err != nil {
		closeBody(req)
		return nil, fmt.Errorf("getting token for %s %s: %w", req.Method, req.URL.Redacted(), err)
	}
	resp, err := t.send(t.authorized(req, tok))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}

	// Report the rejection whether or not the request can be resent, so
	// that the next request does not carry the refused token too.
	fresh, err := t.Source.Reject(ctx, tok)
	if err != nil || fresh.AccessToken == tok.AccessToken || !replayable(req) {
		return resp, nil // nothing better to try, or no way to: hand back the 401
	}
	retry := t.authorized(req, fresh)
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return resp, nil
		}
		retry.Body = body
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	resp.Body.Close()
	return t.send(retry)
}

// send sends r through Base, and sets the response's Request to r if Base
// left it unset, so that the origin of a redirect that follows can be found.
func (t *Transport) send(r *http.Request) (*http.Response, error) {
	resp, err := t.base().RoundTrip(r)
	if resp != nil && resp.Request == nil {
		resp.Request = r
	}
	return resp, err
}

// base is the RoundTripper that sends requests.
func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

// authorized returns a clone of req carrying tok's headers.
func (t *Transport) authorized(req *http.Request, tok Token) *http.Request {
	r := req.Clone(req.Context())
	t.Source.SetAuthHeader(r, tok)
	return r
}

// replayable reports whether req's body can be sent a second time.
func replayable(req *http.Request) bool {
	return req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
}

// closeBody closes a request body that will not be sent, as a RoundTripper
// must.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
