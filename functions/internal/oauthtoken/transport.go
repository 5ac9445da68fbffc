package oauthtoken

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// errRedirect is returned for any redirect: following one would send the
// credentials to a URL nobody configured.
var errRedirect = errors.New("redirect refused")

func refuseRedirect(req *http.Request, _ []*http.Request) error {
	return fmt.Errorf("%w: token endpoint redirected to %s://%s%s; the credentials are only ever sent to TOKEN_URL",
		errRedirect, req.URL.Scheme, req.URL.Host, req.URL.Path)
}

// newTransport returns the shared transport: TLS always verified, bounded
// dial, handshake and header waits.
// NewTransport returns the transport a Fetcher uses when Config.Transport is
// nil: bounded dial, TLS handshake and header waits, TLS always verified,
// and up to 16 idle connections per host, so that a run's concurrent
// requests to one provider reuse their connections. Share it between
// Fetchers.
func NewTransport() http.RoundTripper { return newTransport() }

func newTransport() *http.Transport {
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          64,
		MaxIdleConnsPerHost:   16,
		ForceAttemptHTTP2:     true,
	}
}

// attempt records, for one request, what the oauth2 package does not pass
// on: the X-Debug-Id header, the status, and whether the body was too large.
type attempt struct {
	base  http.RoundTripper
	limit int64

	mu       sync.Mutex
	debugID  string
	status   int
	header   http.Header
	tooLarge bool
}

func (a *attempt) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := a.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.debugID = resp.Header.Get("X-Debug-Id")
	a.status = resp.StatusCode
	a.header = resp.Header
	a.mu.Unlock()
	resp.Body = &cappedBody{rc: resp.Body, left: a.limit, over: a.markTooLarge}
	return resp, nil
}

func (a *attempt) markTooLarge() {
	a.mu.Lock()
	a.tooLarge = true
	a.mu.Unlock()
}

func (a *attempt) snapshot() (debugID string, status int, header http.Header, tooLarge bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.debugID, a.status, a.header, a.tooLarge
}

// cappedBody fails a read once more than left bytes have come.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
	over func()
}

var errBodyTooLarge = errors.New("response body too large")

func (c *cappedBody) Read(p []byte) (int, error) {
	if c.left < 0 {
		return 0, errBodyTooLarge
	}
	if int64(len(p)) > c.left+1 {
		p = p[:c.left+1]
	}
	n, err := c.rc.Read(p)
	c.left -= int64(n)
	if c.left < 0 {
		c.over()
		return 0, errBodyTooLarge
	}
	return n, err
}

func (c *cappedBody) Close() error { return c.rc.Close() }
