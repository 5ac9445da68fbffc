package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// countingEndpoint stands in for both AWS and the token endpoint and counts
// every request that reaches it.
func countingEndpoint(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL", srv.URL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	return srv, &hits
}

func TestPlainHTTPIsRefusedBeforeAnyRequest(t *testing.T) {
	_, hits := countingEndpoint(t)
	env := map[string]string{"CREDENTIALS_SECRET_ID": "c", "TOKEN_SECRET_ID": "t", "TOKEN_URL": "http://ims.example.com/ims/token/v3"}
	h := handler(context.Background(), func(k string) string { return env[k] })
	_, err := h(context.Background(), json.RawMessage(`{"force":true}`))
	if err == nil || !strings.Contains(err.Error(), "TOKEN_URL") || !strings.Contains(err.Error(), "https is required") {
		t.Fatalf("run error = %v, want TOKEN_URL refused for want of https", err)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("requests = %d, want 0", n)
	}
}

func TestInitMakesNoNetworkCall(t *testing.T) {
	srv, hits := countingEndpoint(t)
	env := map[string]string{"CREDENTIALS_SECRET_ID": "c", "TOKEN_SECRET_ID": "t", "TOKEN_URL": srv.URL + "/ims/token/v3"}
	if h := handler(context.Background(), func(k string) string { return env[k] }); h == nil {
		t.Fatal("handler() = nil, want a handler")
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("requests during init = %d, want 0", n)
	}
}
