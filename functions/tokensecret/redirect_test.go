package tokensecret_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
)

// visit is what a hop server was sent.
type visit struct {
	host, path, auth, apiKey string
}

// String shows v with the sentinel token masked, so that no failure
// message prints it.
func (v visit) String() string {
	return fmt.Sprintf("{host:%s path:%s auth:%q x-api-key:%q}", v.host, v.path, strings.ReplaceAll(v.auth, sentinel, "<sentinel>"), v.apiKey)
}

// hop is an httptest server that records each request's credentials. A
// request with ?to=URL is redirected there (302, or ?code=307); any other
// is answered 200, or 401 if accept is set and the request does not carry
// that token.
type hop struct {
	*httptest.Server
	mu     sync.Mutex
	accept string
	visits []visit
}

func newHop(t *testing.T, start func(http.Handler) *httptest.Server) *hop {
	t.Helper()
	h := &hop{}
	h.Server = start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h.mu.Lock()
		h.visits = append(h.visits, visit{r.Host, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("x-api-key")})
		accept := h.accept
		h.mu.Unlock()
		if to := r.URL.Query().Get("to"); to != "" {
			code := http.StatusFound
			if r.URL.Query().Get("code") == "307" {
				code = http.StatusTemporaryRedirect
			}
			http.Redirect(w, r, to, code)
			return
		}
		if accept != "" && r.Header.Get("Authorization") != "Bearer "+accept {
			http.Error(w, "token not valid", http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hop) setAccept(tok string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.accept = tok
}

// at returns the visits to path.
func (h *hop) at(path string) []visit {
	h.mu.Lock()
	defer h.mu.Unlock()
	var vs []visit
	for _, v := range h.visits {
		if v.path == path {
			vs = append(vs, v)
		}
	}
	return vs
}

// hops is an https API at example.com, a second https server that answers
// for other hosts and ports, and a plain http server at example.com:80, all
// reached through Base, which dials each host name to its server.
type hops struct {
	api, other, plain *hop
	base              *http.Transport
}

func newHops(t *testing.T) *hops {
	t.Helper()
	hs := &hops{api: newHop(t, httptest.NewTLSServer), other: newHop(t, httptest.NewTLSServer), plain: newHop(t, httptest.NewServer)}
	addrs := map[string]string{
		"example.com:443":       hs.api.Listener.Addr().String(),
		"other.example.com:443": hs.other.Listener.Addr().String(),
		"api.example.com:443":   hs.other.Listener.Addr().String(),
		"example.com:8443":      hs.other.Listener.Addr().String(),
		"example.com:80":        hs.plain.Listener.Addr().String(),
		"other.example.com:80":  hs.plain.Listener.Addr().String(),
	}
	hs.base = &http.Transport{
		// The httptest certificate holds example.com and *.example.com.
		TLSClientConfig: hs.api.Client().Transport.(*http.Transport).TLSClientConfig.Clone(),
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			to, ok := addrs[strings.ToLower(addr)]
			if !ok {
				return nil, fmt.Errorf("no test server for %s", addr)
			}
			return (&net.Dialer{}).DialContext(ctx, network, to)
		},
	}
	t.Cleanup(hs.base.CloseIdleConnections)
	return hs
}

// redirect is from with a query that makes its hop redirect to to.
func redirect(from, to string) string {
	return from + "?to=" + url.QueryEscape(to)
}

func TestTransportRedirects(t *testing.T) {
	tests := []struct {
		name      string
		start     string // the caller's URL
		target    string // the hop server the redirect reaches: api, other or plain
		wantToken bool   // whether the target gets the token and client id
		wantErr   string // the refusal; the target then sees nothing
	}{
		{"same host, relative Location", redirect("https://example.com/start", "/end"), "api", true, ""},
		{"same host, explicit default port", redirect("https://example.com/start", "https://EXAMPLE.com:443/end"), "api", true, ""},
		{"307 to the same host", redirect("https://example.com/start", "/end") + "&code=307", "api", true, ""},
		{"other host", redirect("https://example.com/start", "https://other.example.com/end"), "other", false, ""},
		{"subdomain, where Go keeps the caller's own headers", redirect("https://example.com/start", "https://api.example.com/end"), "other", false, ""},
		{"same host name, other port", redirect("https://example.com/start", "https://example.com:8443/end"), "other", false, ""},
		{"307 to another host", redirect("https://example.com/start", "https://other.example.com/end") + "&code=307", "other", false, ""},
		{"https to plain http, same host: refused", redirect("https://example.com/start", "http://example.com/end?q=kept-out"), "plain", false,
			"refusing a redirect from https to plain http://example.com/end"},
		{"https to plain http, other host: refused", redirect("https://example.com/start", "http://other.example.com/end"), "plain", false,
			"refusing a redirect from https to plain http://other.example.com/end"},
		{"plain http origin, same host", redirect("http://example.com/start", "/end"), "plain", true, ""},
		{"plain http origin, other host", redirect("http://example.com/start", "http://other.example.com/end"), "plain", false, ""},
		{"plain http origin to https, same host name", redirect("http://example.com/start", "https://example.com/end"), "api", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tokensecret.Config{})
			f.put(sentinel)
			hs := newHops(t)
			target := map[string]*hop{"api": hs.api, "other": hs.other, "plain": hs.plain}[tt.target]
			client := &http.Client{Transport: &tokensecret.Transport{Source: f.src, Base: hs.base}}

			method, body := http.MethodGet, io.Reader(nil)
			if strings.Contains(tt.start, "code=307") {
				method, body = http.MethodPost, strings.NewReader("payload")
			}
			req, _ := http.NewRequestWithContext(t.Context(), method, tt.start, body)
			resp, err := client.Do(req)
			if err == nil {
				resp.Body.Close()
			}

			first := append(hs.api.at("/start"), hs.plain.at("/start")...)
			if len(first) != 1 || first[0].auth != "Bearer "+sentinel || first[0].apiKey != "client-1" {
				t.Errorf("first request's credentials = %v, want the token and client-1 once", first)
			}
			got := target.at("/end")
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Do() error = %v, want it to contain %q", err, tt.wantErr)
				}
				// http.Client wraps the error in a *url.Error that names
				// the full target; Transport's own error leaves the query out.
				var ue *url.Error
				if !errors.As(err, &ue) || strings.Contains(ue.Err.Error(), "kept-out") || containsSentinel(err.Error()) {
					t.Errorf("Do() error = %v, want Transport's cause to hold no query and no token", err)
				}
				if len(got) != 0 {
					t.Errorf("%s got %v, want nothing sent", tt.target, got)
				}
				return
			case err != nil:
				t.Fatalf("Do() error = %v", err)
			case resp.StatusCode != http.StatusOK:
				t.Errorf("status = %d, want 200", resp.StatusCode)
			}
			want := visit{}
			if tt.wantToken {
				want = visit{auth: "Bearer " + sentinel, apiKey: "client-1"}
			}
			if len(got) != 1 || got[0].auth != want.auth || got[0].apiKey != want.apiKey {
				t.Errorf("%s got %v at /end, want one request with %v", tt.target, got, want)
			}
		})
	}
}

// A cross-origin hop carries no token, so its 401 rejects nothing: no
// re-read, no retry, and the 401 goes back to the caller.
func TestTransportRedirect401ElsewhereRejectsNothing(t *testing.T) {
	f := newFixture(t, tokensecret.Config{})
	f.put(sentinel)
	hs := newHops(t)
	hs.other.setAccept("token-2")
	f.put("token-2")
	if _, err := f.src.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &tokensecret.Transport{Source: f.src, Base: hs.base}}

	resp, err := client.Get(redirect("https://example.com/start", "https://other.example.com/end"))
	if err != nil {
		t.Fatalf("Get() error = %v", err)
	}
	resp.Body.Close()
	got := hs.other.at("/end")
	if resp.StatusCode != http.StatusUnauthorized || len(got) != 1 || got[0].auth != "" || f.sm.Reads() != 1 {
		t.Errorf("status, other host's requests, secret reads = %d, %v, %d; want 401, one without a token, 1",
			resp.StatusCode, got, f.sm.Reads())
	}
}

// A same-origin hop is the API itself: its 401 re-reads the secret and
// retries the hop with the new token, as on a first request.
func TestTransportRedirect401SameHostRetries(t *testing.T) {
	f := newFixture(t, tokensecret.Config{})
	f.put(sentinel)
	hs := newHops(t)
	hs.api.setAccept("token-2")
	if _, err := f.src.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.put("token-2")
	client := &http.Client{Transport: &tokensecret.Transport{Source: f.src, Base: hs.base}}

	resp, err := client.Get(redirect("https://example.com/start", "/end"))
	if err != nil {
		t.Fatalf("Get() error = %v", err)
	}
	resp.Body.Close()
	got := hs.api.at("/end")
	if resp.StatusCode != http.StatusOK || len(got) != 2 || got[0].auth != "Bearer "+sentinel || got[1].auth != "Bearer token-2" {
		t.Errorf("status, requests at /end = %d, %v; want 200, the old token then token-2", resp.StatusCode, got)
	}
	if f.sm.Reads() != 2 {
		t.Errorf("secret reads = %d, want 2", f.sm.Reads())
	}
}

// roundTripFunc is a RoundTripper made of a function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Transport finds a hop's origin through each redirect response's Request.
// A Base, or a RoundTripper wrapped around Transport, that leaves it unset
// must not make the target look like the origin.
func TestTransportRedirectWithoutResponseRequest(t *testing.T) {
	for _, wrap := range []string{"Base", "outer RoundTripper"} {
		t.Run(wrap, func(t *testing.T) {
			f := newFixture(t, tokensecret.Config{})
			f.put(sentinel)
			hs := newHops(t)
			forget := func(rt http.RoundTripper) http.RoundTripper {
				return roundTripFunc(func(r *http.Request) (*http.Response, error) {
					resp, err := rt.RoundTrip(r)
					if resp != nil {
						resp.Request = nil
					}
					return resp, err
				})
			}
			var rt http.RoundTripper
			if wrap == "Base" {
				rt = &tokensecret.Transport{Source: f.src, Base: forget(hs.base)}
			} else {
				rt = forget(&tokensecret.Transport{Source: f.src, Base: hs.base})
			}

			resp, err := (&http.Client{Transport: rt}).Get(redirect("https://example.com/start", "https://other.example.com/end"))
			if err != nil {
				t.Fatalf("Get() error = %v", err)
			}
			resp.Body.Close()
			if got := hs.other.at("/end"); len(got) != 1 || got[0].auth != "" || got[0].apiKey != "" {
				t.Errorf("other host got %v, want one request without credentials", got)
			}
			if wrap != "Base" {
				return // the origin is unknown, so no hop gets the token
			}
			// Transport sets the Request Base left out: the API's own hops keep the token.
			resp, err = (&http.Client{Transport: rt}).Get(redirect("https://example.com/start", "/end"))
			if err != nil {
				t.Fatalf("Get() error = %v", err)
			}
			resp.Body.Close()
			if got := hs.api.at("/end"); len(got) != 1 || got[0].auth != "Bearer "+sentinel {
				t.Errorf("same host got %v, want one request with the token", got)
			}
		})
	}
}

// http.Client copies the caller's own headers to a redirect hop on a
// subdomain; Transport strips the credentials among them all the same.
func TestTransportRedirectDropsCallersCredentials(t *testing.T) {
	f := newFixture(t, tokensecret.Config{})
	f.put(sentinel)
	hs := newHops(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, redirect("https://example.com/start", "https://api.example.com/end"), nil)
	req.Header.Set("Authorization", "Bearer "+sentinel)
	req.Header.Set("x-api-key", "client-1")
	resp, err := (&http.Client{Transport: &tokensecret.Transport{Source: f.src, Base: hs.base}}).Do(req)
	if err != nil {
		t.Fatalf("Do() error = %v", err)
	}
	resp.Body.Close()
	if got := hs.other.at("/end"); len(got) != 1 || got[0].auth != "" || got[0].apiKey != "" {
		t.Errorf("subdomain got %v, want one request without credentials", got)
	}
}
