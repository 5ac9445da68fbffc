package tokensecret_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
)

// api is an httptest Adobe API that accepts one access token and records
// what it was sent.
type api struct {
	*httptest.Server
	mu       sync.Mutex
	accept   string
	hits     int
	bodies   []string
	apiKeys  []string
	lastAuth string
}

func newAPI(t *testing.T, accept string) *api {
	t.Helper()
	a := &api{accept: accept}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		defer a.mu.Unlock()
		a.hits++
		a.bodies = append(a.bodies, string(body))
		a.apiKeys = append(a.apiKeys, r.Header.Get("x-api-key"))
		a.lastAuth = r.Header.Get("Authorization")
		if r.Header.Get("Authorization") != "Bearer "+a.accept {
			http.Error(w, `{"error_code":"401013","message":"Oauth token is not valid"}`, http.StatusUnauthorized)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *api) setAccept(tok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.accept = tok
}

func (a *api) stats() (hits int, bodies, apiKeys []string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hits, append([]string(nil), a.bodies...), append([]string(nil), a.apiKeys...)
}

func TestTransportSetsHeadersWithoutTouchingTheRequest(t *testing.T) {
	f := newFixture(t, tokensecret.Config{})
	f.put("token-1")
	a := newAPI(t, "token-1")
	client := &http.Client{Transport: &tokensecret.Transport{Source: f.src}}

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, a.URL, nil)
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("Do() error = %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", resp.StatusCode)
	}
	if _, _, keys := a.stats(); len(keys) != 1 || keys[0] != "client-1" {
		t.Errorf("x-api-key = %v, want [client-1]", keys)
	}
	if got := len(req.Header); got != 1 || req.Header.Get("Authorization") != "" {
		t.Errorf("caller's request headers = %v, want only Accept", req.Header)
	}
}

func TestTransportRetriesOnceAfter401(t *testing.T) {
	tests := []struct {
		name        string
		body        func() io.Reader // nil: no body
		hideGetBody bool
		rotate      bool // the secret holds a new token by the time of the 401
		wantHits    int
		wantReads   int
		wantStatus  int
	}{
		{"GET, new token: one re-read, one retry", nil, false, true, 2, 2, 200},
		{"POST with replayable body: one retry with the same body", func() io.Reader { return strings.NewReader("payload") }, false, true, 2, 2, 200},
		{"POST with a one-shot body: one re-read, no retry", func() io.Reader { return io.MultiReader(strings.NewReader("payload")) }, true, true, 1, 2, 401},
		{"secret unchanged: one re-read, no retry", nil, false, false, 1, 2, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tokensecret.Config{})
			f.put("token-1")
			a := newAPI(t, "token-2")
			if _, err := f.src.Get(t.Context()); err != nil {
				t.Fatal(err)
			}
			if tt.rotate {
				f.put("token-2")
			}
			var body io.Reader
			method := http.MethodGet
			if tt.body != nil {
				body, method = tt.body(), http.MethodPost
			}
			req, _ := http.NewRequestWithContext(t.Context(), method, a.URL, body)
			if tt.hideGetBody {
				req.GetBody = nil
			}
			resp, err := (&http.Client{Transport: &tokensecret.Transport{Source: f.src}}).Do(req)
			if err != nil {
				t.Fatalf("Do() error = %v", err)
			}
			resp.Body.Close()
			hits, bodies, _ := a.stats()
			if resp.StatusCode != tt.wantStatus || hits != tt.wantHits || f.sm.Reads() != tt.wantReads {
				t.Errorf("status, API hits, secret reads = %d, %d, %d; want %d, %d, %d",
					resp.StatusCode, hits, f.sm.Reads(), tt.wantStatus, tt.wantHits, tt.wantReads)
			}
			if tt.body != nil && tt.wantHits == 2 && (bodies[0] != "payload" || bodies[1] != "payload") {
				t.Errorf("bodies = %q, want the payload twice", bodies)
			}
		})
	}
}

func TestTransportConcurrent401sShareOneRead(t *testing.T) {
	f := newFixture(t, tokensecret.Config{})
	f.put("token-1")
	a := newAPI(t, "token-1")
	client := &http.Client{Transport: &tokensecret.Transport{Source: f.src}}
	if _, err := f.src.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.put("token-2")
	a.setAccept("token-2")

	var wg sync.WaitGroup
	var ok atomic.Int32
	for range 20 {
		wg.Go(func() {
			resp, err := client.Get(a.URL)
			if err != nil {
				t.Errorf("Get() error = %v", err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if got := ok.Load(); got != 20 {
		t.Errorf("successful requests = %d, want 20", got)
	}
	if got := f.sm.Reads(); got != 2 {
		t.Errorf("reads = %d, want 2", got)
	}
}

func TestTransportFailsWithoutToken(t *testing.T) {
	f := newFixture(t, tokensecret.Config{})
	a := newAPI(t, "token-1")
	closed := false
	body := readCloser{Reader: strings.NewReader("x"), close: func() { closed = true }}
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, a.URL, body)
	_, err := (&http.Client{Transport: &tokensecret.Transport{Source: f.src}}).Do(req)
	if !errors.Is(err, tokensecret.ErrNotFound) {
		t.Errorf("Do() error = %v, want ErrNotFound", err)
	}
	if !closed {
		t.Errorf("request body not closed")
	}
	if hits, _, _ := a.stats(); hits != 0 {
		t.Errorf("API hits = %d, want 0", hits)
	}
}

type readCloser struct {
	io.Reader
	close func()
}

func (r readCloser) Close() error { r.close(); return nil }

func TestTransportRejectsTokenEvenWhenItCannotResend(t *testing.T) {
	f := newFixture(t, tokensecret.Config{})
	f.put(sentinel) // the token the API has revoked
	a := newAPI(t, "token-2")
	client := &http.Client{Transport: &tokensecret.Transport{Source: f.src}}
	if _, err := f.src.Get(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.put("token-2")

	// A streamed upload: its body can be read only once.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, a.URL, io.MultiReader(strings.NewReader("payload")))
	req.GetBody = nil
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("Do() error = %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading the 401 body: %v", err)
	}
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "Oauth token is not valid") {
		t.Errorf("response = %d %q, want the API's 401 with its body", resp.StatusCode, body)
	}
	if hits, _, _ := a.stats(); hits != 1 || f.sm.Reads() != 2 {
		t.Errorf("API hits, secret reads = %d, %d; want 1 (no resend), 2 (one re-read)", hits, f.sm.Reads())
	}

	// The next request carries the new token, without another read.
	resp, err = client.Get(a.URL)
	if err != nil {
		t.Fatalf("Get() error = %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || f.sm.Reads() != 2 {
		t.Errorf("next request: status, secret reads = %d, %d; want 200, 2", resp.StatusCode, f.sm.Reads())
	}
}
