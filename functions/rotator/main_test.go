package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestWireRefusesPlainHTTPBeforeAnyRequest(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	env := map[string]string{"CREDENTIALS_SECRET_ID": "c", "TOKEN_SECRET_ID": "t", "TOKEN_URL": "http://ims.example.com/ims/token/v3"}
	_, err := wire(context.Background(), func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "TOKEN_URL") || !strings.Contains(err.Error(), "https is required") {
		t.Fatalf("wire() error = %v, want TOKEN_URL refused for want of https", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("requests = %d, want 0", n)
	}
}

func TestWireMakesNoNetworkCall(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	env := map[string]string{"CREDENTIALS_SECRET_ID": "c", "TOKEN_SECRET_ID": "t", "TOKEN_URL": srv.URL + "/ims/token/v3"}
	h, err := wire(context.Background(), func(k string) string { return env[k] })
	if err != nil || h == nil {
		t.Fatalf("wire() error = %v, want a handler", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("requests during init = %d, want 0", n)
	}
}
