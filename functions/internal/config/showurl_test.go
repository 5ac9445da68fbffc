package config

import (
	"encoding/json"
	"strings"
	"testing"
)

const urlSentinel = "SENTINEL-url-key-3e1f"

func TestShowURL(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"https://ims-na1.adobelogin.com/ims/token/v3", "https://ims-na1.adobelogin.com/ims/token/v3"},
		{"https://api.example.com/me?key=" + urlSentinel, "https://api.example.com/me"},
		{"https://user:" + urlSentinel + "@api.example.com:8443/v1/me?a=b#" + urlSentinel, "https://api.example.com:8443/v1/me"},
		{"https://" + urlSentinel + "@api.example.com", "https://api.example.com"},
		{"http://127.0.0.1:8080/ims/token/v3?", "http://127.0.0.1:8080/ims/token/v3"},
		{"https://api.example.com/a%2Fb/c", "https://api.example.com/a%2Fb/c"},
		{"ims-na1.adobelogin.com/ims/token/v3?key=" + urlSentinel, "ims-na1.adobelogin.com/ims/token/v3"},
		{"mailto:" + urlSentinel, "mailto:…"},
		{"https://exa mple.com/?key=" + urlSentinel, "(not a URL)"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := ShowURL(tt.raw); got != tt.want {
			t.Errorf("ShowURL(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}

// A refused URL is named in the error by scheme, host and path only: its
// query, fragment or user information may hold a key.
func TestURLErrorsShowNoKey(t *testing.T) {
	for _, tt := range []struct{ variable, value string }{
		{EnvTokenURL, "http://ims.example/ims/token/v3?key=" + urlSentinel},
		{EnvTokenURL, "ftp://ims.example/t?key=" + urlSentinel},
		{EnvTokenURL, "https://ims.example/t?key=a#" + urlSentinel},
		{EnvTokenURL, "https://user:" + urlSentinel + "@ims.example/t"},
		{EnvTokenURL, "/ims/token/v3?key=" + urlSentinel},
		{EnvTokenURL, "https://exa mple.com/?key=" + urlSentinel},
		{EnvTestURL, "http://api.example.com/me?key=" + urlSentinel},
		{EnvTestURL, "https://api.example.com/me#" + urlSentinel},
	} {
		m := base()
		m[tt.variable] = tt.value
		_, err := Load(env(m))
		if err == nil || !strings.Contains(err.Error(), tt.variable+": ") {
			t.Fatalf("Load(%s=%q) error = %v, want one naming %s", tt.variable, tt.value, err, tt.variable)
		}
		if strings.Contains(err.Error(), urlSentinel) {
			t.Errorf("Load(%s) error = %q, shows the URL's key", tt.variable, err)
		}
	}
	def, _ := Load(env(base()))
	_, err := def.Provider.Overlay(map[string]json.RawMessage{"test_url": json.RawMessage(`"http://api.example.com/me?key=` + urlSentinel + `"`)})
	if err == nil || strings.Contains(err.Error(), urlSentinel) {
		t.Errorf("Overlay() error = %v, want one without the URL's key", err)
	}
}
