package tokensecret_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
	"github.com/tokenrotator/tokenrotator/functions/tokensecret/tokensecrettest"
)

// headersSeen serves 200 and records the headers of the last request.
type headersSeen struct {
	mu   sync.Mutex
	last http.Header
}

func (h *headersSeen) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.last = r.Header.Clone()
}

func (h *headersSeen) headers() http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// namesWithValue returns the names of the headers in which value appears.
func namesWithValue(h http.Header, value string) []string {
	var names []string
	for name, values := range h {
		for _, v := range values {
			if v == value {
				names = append(names, name)
			}
		}
	}
	return names
}

func TestTransportAPIKeyHeader(t *testing.T) {
	tests := []struct {
		name       string
		cfg        tokensecret.Config
		wantHeader string // canonical name of the one header carrying the client id; "" for none
	}{
		{"default: x-api-key, as Adobe wants", tokensecret.Config{}, "X-Api-Key"},
		{"default spelled out", tokensecret.Config{APIKeyHeader: "X-API-KEY"}, "X-Api-Key"},
		{"renamed", tokensecret.Config{APIKeyHeader: "x-client-id"}, "X-Client-Id"},
		{"omitted", tokensecret.Config{OmitAPIKey: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.cfg)
			f.put(sentinel)
			seen := &headersSeen{}
			srv := httptest.NewServer(seen)
			defer srv.Close()

			resp, err := tokensecret.NewClient(f.src).Get(srv.URL)
			if err != nil {
				t.Fatalf("Get() error = %v", err)
			}
			resp.Body.Close()
			h := seen.headers()
			if h.Get("Authorization") != "Bearer "+sentinel {
				t.Errorf("Authorization header missing or not the bearer token")
			}
			got := namesWithValue(h, "client-1")
			switch {
			case tt.wantHeader == "" && len(got) != 0:
				t.Errorf("client id sent in %v, want in no header", got)
			case tt.wantHeader != "" && (len(got) != 1 || got[0] != tt.wantHeader):
				t.Errorf("client id sent in %v, want only in %s", got, tt.wantHeader)
			}
			if tt.wantHeader != "X-Api-Key" && h.Get("X-Api-Key") != "" {
				t.Errorf("x-api-key = %q, want none", h.Get("X-Api-Key"))
			}
		})
	}
}

func TestSourceSetAuthHeader(t *testing.T) {
	tests := []struct {
		name     string
		cfg      tokensecret.Config
		clientID string
		want     []string // names of the headers set, canonical
	}{
		{"default", tokensecret.Config{}, "client-1", []string{"Authorization", "X-Api-Key"}},
		{"default, token without a client id", tokensecret.Config{}, "", []string{"Authorization"}},
		{"renamed", tokensecret.Config{APIKeyHeader: "X-Client-Id"}, "client-1", []string{"Authorization", "X-Client-Id"}},
		{"omitted", tokensecret.Config{OmitAPIKey: true}, "client-1", []string{"Authorization"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tt.cfg)
			tok := tokensecrettest.NewToken(sentinel, tt.clientID, start, time.Hour)
			req := httptest.NewRequest(http.MethodGet, "https://api.example.com/", nil)
			f.src.SetAuthHeader(req, tok)
			if len(req.Header) != len(tt.want) {
				t.Errorf("SetAuthHeader() set %d headers, want %v", len(req.Header), tt.want)
			}
			for _, name := range tt.want {
				if _, ok := req.Header[name]; !ok {
					t.Errorf("SetAuthHeader() did not set %s; want %v", name, tt.want)
				}
			}
		})
	}
}

func TestTokenSetAuthHeaderAlwaysSendsAPIKey(t *testing.T) {
	tok := tokensecrettest.NewToken(sentinel, "client-1", start, time.Hour)
	req := httptest.NewRequest(http.MethodGet, "https://api.example.com/", nil)
	tok.SetAuthHeader(req)
	if got := req.Header.Get("x-api-key"); got != "client-1" {
		t.Errorf("x-api-key = %q, want client-1", got)
	}
	if req.Header.Get("Authorization") != "Bearer "+sentinel {
		t.Errorf("Authorization header missing or not the bearer token")
	}
}
