package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
	"github.com/tokenrotator/tokenrotator/functions/tokensecret/tokensecrettest"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    config
		wantErr []string
	}{
		{"sdk", map[string]string{"TOKEN_SECRET_ID": "s", "API_URL": "https://api.example/x"}, config{SecretID: "s", APIURL: "https://api.example/x"}, nil},
		{"extension", map[string]string{"TOKEN_SECRET_ID": "s", "API_URL": "https://api.example/x", "TOKEN_READ_VIA": "extension"}, config{SecretID: "s", APIURL: "https://api.example/x", Extension: true}, nil},
		{"all bad", map[string]string{"API_URL": "ftp://x", "TOKEN_READ_VIA": "carrier-pigeon"}, config{}, []string{"TOKEN_SECRET_ID", "API_URL", "TOKEN_READ_VIA"}},
		{"empty", map[string]string{}, config{}, []string{"TOKEN_SECRET_ID", "API_URL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := loadConfig(func(k string) string { return tt.env[k] })
			if tt.wantErr == nil {
				if err != nil || got != tt.want {
					t.Errorf("loadConfig() = %+v, %v; want %+v", got, err, tt.want)
				}
				return
			}
			for _, name := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), name) {
					t.Errorf("loadConfig() error = %v, want it to name %s", err, name)
				}
			}
		})
	}
}

func TestHandleReportsStatusAndExpiryNotToken(t *testing.T) {
	const secret = "SENTINEL-CONSUMER-TOKEN"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+secret || r.Header.Get("x-api-key") != "client-1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer api.Close()

	tok := tokensecrettest.NewToken(secret, "client-1", time.Now().Add(-time.Hour), 24*time.Hour)
	src := tokensecret.StaticSource(tok)
	h := &handler{src: src, apiURL: api.URL, client: &http.Client{Transport: &tokensecret.Transport{Source: src}}}

	got, err := h.handle(t.Context(), json.RawMessage(`{}`))
	if err != nil {
		t.Fatalf("handle() error = %v", err)
	}
	want := result{Status: http.StatusAccepted, TokenExpiry: tok.Expiry.Format(time.RFC3339)}
	if got != want {
		t.Errorf("handle() = %+v, want %+v", got, want)
	}
	b, _ := json.Marshal(got)
	if strings.Contains(string(b), secret) {
		t.Errorf("result %s contains the token", b)
	}
}
