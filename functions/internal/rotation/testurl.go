package rotation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

// TestTimeout bounds testSecret's request to TEST_URL.
const TestTimeout = 10 * time.Second

// tryToken GETs p.TestURL with the pending token, as a consumer would
// (Authorization: Bearer, and x-api-key with the client id for an Adobe IMS
// token, as the consumer library sends by default), and wants a 2xx. It
// returns the status. Neither the error nor anything logged holds the
// token, and its errors show TEST_URL as config.ShowURL does.
func (r *Rotator) tryToken(ctx context.Context, p config.Provider, v secretstore.TokenValue) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, TestTimeout)
	defer cancel()
	shown := config.ShowURL(p.TestURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.TestURL, nil)
	if err != nil {
		return 0, fmt.Errorf("TEST_URL %s: %w", shown, redactURLError(err))
	}
	req.Header.Set("Authorization", "Bearer "+v.AccessToken)
	if isAdobeIMS(p.TokenURL) {
		req.Header.Set("x-api-key", v.ClientID)
	}
	resp, err := r.cfg.TestClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET TEST_URL %s with the pending token: %w", shown, redactURLError(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // lets the connection be reused
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("GET TEST_URL %s with the pending token answered HTTP %d, want 2xx; the pending token is not made current",
			shown, resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// isAdobeIMS reports whether tokenURL is an Adobe IMS endpoint, whose APIs
// want the client id in x-api-key.
func isAdobeIMS(tokenURL string) bool {
	u, err := url.Parse(tokenURL)
	return err == nil && strings.HasSuffix(strings.ToLower(u.Hostname()), ".adobelogin.com")
}

// redactURLError keeps a client error's cause without its request URL,
// which the caller names already, without its query.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// noPlainHTTPRedirect refuses a redirect from https to plain http (other
// than loopback), where the token would travel in the clear; Go already
// drops Authorization on a redirect to another host.
func noPlainHTTPRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("stopped after 10 redirects")
	}
	if req.URL.Scheme != "https" && !config.IsLoopback(req.URL.Hostname()) {
		return fmt.Errorf("refusing a redirect to %s://%s: https is required", req.URL.Scheme, req.URL.Host)
	}
	return nil
}
