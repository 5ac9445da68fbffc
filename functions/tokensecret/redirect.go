package tokensecret

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// elsewhere sends a redirect hop that left origin (nil: unknown) without
// the token's headers, or refuses it when it would leave https for plain
// http.
func (t *Transport) elsewhere(req *http.Request, origin *url.URL) (*http.Response, error) {
	if origin != nil && strings.EqualFold(origin.Scheme, "https") && !strings.EqualFold(req.URL.Scheme, "https") {
		closeBody(req)
		target := url.URL{Scheme: req.URL.Scheme, Host: req.URL.Host, Path: req.URL.Path} // no query, no user info
		return nil, fmt.Errorf("refusing a redirect from https to plain %s", target.String())
	}
	r := req.Clone(req.Context())
	t.Source.clearAuthHeader(r)
	return t.send(r)
}

// firstURL returns the URL of the request that started req's chain of
// redirects: each hop's Response is the redirect answer, whose Request is
// the hop before. It returns nil if a Response in the chain has no Request
// (a RoundTripper wrapped around Transport dropped it), for then the origin
// is unknown.
func firstURL(req *http.Request) *url.URL {
	for req.Response != nil {
		if req.Response.Request == nil {
			return nil
		}
		req = req.Response.Request
	}
	return req.URL
}

// sameOrigin reports whether a and b have the same scheme, host and port,
// an omitted port being the scheme's default.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(hostPort(a), hostPort(b))
}

// hostPort is u's host with its port, the scheme's default if u has none.
func hostPort(u *url.URL) string {
	port := u.Port()
	switch {
	case port != "":
	case strings.EqualFold(u.Scheme, "https"):
		port = "443"
	case strings.EqualFold(u.Scheme, "http"):
		port = "80"
	}
	return net.JoinHostPort(u.Hostname(), port)
}
