package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

func TestRunRefusesBadSettings(t *testing.T) {
	creds := map[string]string{envClientID: "c", envClientSecret: "s3cr"}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{name: "nothing", want: "a client id and a client secret are needed"},
		{name: "id without secret", args: []string{"-client-id", "c"}, want: "a client id and a client secret are needed"},
		{name: "secret from env without id", env: map[string]string{envClientSecret: "s"}, want: "a client id and a client secret are needed"},
		{name: "bad flag", args: []string{"-nope"}, want: "flag provided but not defined"},
		{name: "bad address", args: []string{"-addr", "256.0.0.1:x"}, env: creds, want: "listening on"},
		{name: "unknown provider", args: []string{"-provider", "google"}, env: creds, want: `unknown -provider "google"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) error = %v, want it to contain %q", tt.args, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr") {
				t.Errorf("run() error = %v, want no secret in it", err)
			}
		})
	}
}

// TestRunServesProvider starts the command for Entra v2 with form answers,
// fetches a token from the URL it prints, and stops it.
func TestRunServesProvider(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &syncbuf.Buffer{}
	env := map[string]string{envClientID: "c", envClientSecret: "s3cr-sentinel"}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-provider", "entra-v2", "-form", "-expires-in", "1800"}, func(k string) string { return env[k] }, out)
	}()

	urlLine := regexp.MustCompile(`^entra-v2 token endpoint emulator for client "c": (http://\S+)\n$`)
	var pattern string
	for deadline := time.Now().Add(5 * time.Second); pattern == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := urlLine.FindStringSubmatch(out.String()); m != nil {
			pattern = m[1]
		}
	}
	if pattern == "" {
		t.Fatalf("output = %q, want the token URL line", out.String())
	}
	if !strings.HasSuffix(pattern, "/{tenant}/oauth2/v2.0/token") {
		t.Errorf("token URL = %q, want it to end in /{tenant}/oauth2/v2.0/token", pattern)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"c"}, "client_secret": {env[envClientSecret]}, "scope": {"api://a/.default"}}
	resp, err := http.PostForm(strings.Replace(pattern, "{tenant}", "contoso", 1), form)
	if err != nil {
		t.Fatalf("PostForm() error = %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	vals, _ := url.ParseQuery(string(body))
	if resp.StatusCode != 200 || vals.Get("expires_in") != "1800" || vals.Get("access_token") == "" {
		t.Errorf("answer: status %d, expires_in %q, access_token empty %v; want 200, 1800 and a token",
			resp.StatusCode, vals.Get("expires_in"), vals.Get("access_token") == "")
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run() after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("run() still serving 10s after cancel")
	}
}
