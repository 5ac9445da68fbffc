package imsemu_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
)

func TestFaultAnswers(t *testing.T) {
	tests := []struct {
		name           string
		fault          imsemu.Fault
		wantStatus     int
		wantRetryAfter string
		wantJSON       bool
		wantFields     map[string]any // fields of the JSON body that must match
		wantMissing    []string       // fields that must be absent
		wantMinLen     int
		wantIssued     int
	}{
		{name: "503 with retry-after", fault: imsemu.Status(503, "2"), wantStatus: 503, wantRetryAfter: "2", wantJSON: true,
			wantFields: map[string]any{"error": "server_error", "error_description": "emulated HTTP 503"}},
		{name: "429", fault: imsemu.Status(429, "Wed, 21 Oct 2015 07:28:00 GMT"), wantStatus: 429,
			wantRetryAfter: "Wed, 21 Oct 2015 07:28:00 GMT", wantJSON: true, wantFields: map[string]any{"error": "too_many_requests"}},
		{name: "500 without retry-after", fault: imsemu.Status(500, ""), wantStatus: 500, wantJSON: true},
		{name: "custom body", fault: imsemu.Fault{Status: 401, Body: []byte(`{"error":"invalid_token"}`)}, wantStatus: 401, wantJSON: true,
			wantFields: map[string]any{"error": "invalid_token"}},
		{name: "not json", fault: imsemu.NotJSON(), wantStatus: 200},
		{name: "no access token", fault: imsemu.NoAccessToken(), wantStatus: 200, wantJSON: true, wantMissing: []string{"access_token"}},
		{name: "error in 200", fault: imsemu.ErrorIn200(), wantStatus: 200, wantJSON: true,
			wantFields: map[string]any{"error": "server_error"}, wantMissing: []string{"access_token"}},
		{name: "no expires_in", fault: imsemu.NoExpiresIn(), wantStatus: 200, wantJSON: true, wantMissing: []string{"expires_in"}},
		{name: "expires_in 0", fault: imsemu.ZeroExpiresIn(), wantStatus: 200, wantJSON: true, wantFields: map[string]any{"expires_in": 0.0}},
		{name: "token type mac", fault: imsemu.TokenType("mac"), wantStatus: 200, wantJSON: true, wantFields: map[string]any{"token_type": "mac"}},
		{name: "huge body", fault: imsemu.HugeBody(4 << 20), wantStatus: 200, wantJSON: true, wantMinLen: 4 << 20,
			wantFields: map[string]any{"token_type": "bearer"}},
		{name: "slow headers then a token", fault: imsemu.SlowHeaders(50 * time.Millisecond), wantStatus: 200, wantJSON: true,
			wantFields: map[string]any{"token_type": "bearer"}, wantIssued: 1},
		{name: "slow body then a token", fault: imsemu.SlowBody(time.Millisecond), wantStatus: 200, wantJSON: true,
			wantFields: map[string]any{"token_type": "bearer"}, wantIssued: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, ts, _ := newServer(t)
			emu.Enqueue(tt.fault)
			a := post(t, ts.Client(), ts.URL+imsemu.TokenPath, goodForm(), nil)
			if a.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d", a.status, tt.wantStatus)
			}
			if got := a.header.Get("Retry-After"); got != tt.wantRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetryAfter)
			}
			if a.header.Get("X-Debug-Id") == "" {
				t.Errorf("X-Debug-Id missing")
			}
			if got := a.decoded != nil; got != tt.wantJSON {
				t.Errorf("body is JSON = %v, want %v", got, tt.wantJSON)
			}
			for k, want := range tt.wantFields {
				if got := a.decoded[k]; got != want {
					t.Errorf("body[%q] = %v, want %v", k, got, want)
				}
			}
			for _, k := range tt.wantMissing {
				if _, ok := a.decoded[k]; ok {
					t.Errorf("body has %q, want it absent", k)
				}
			}
			if len(a.body) < tt.wantMinLen {
				t.Errorf("len(body) = %d, want at least %d", len(a.body), tt.wantMinLen)
			}
			if got := len(emu.Issued()); got != tt.wantIssued {
				t.Errorf("len(Issued()) = %d, want %d", got, tt.wantIssued)
			}
			// The queue held one fault: the next request gets a token.
			if next := post(t, ts.Client(), ts.URL+imsemu.TokenPath, goodForm(), nil); next.status != 200 || next.decoded["access_token"] == nil {
				t.Errorf("after the fault: status %d body %.100s, want 200 with a token", next.status, next.body)
			}
		})
	}
}

func TestQueueThenSticky(t *testing.T) {
	emu, ts, _ := newServer(t)
	emu.Enqueue(imsemu.Status(503, "1"), imsemu.Status(429, ""))
	emu.SetFault(imsemu.Status(502, ""))
	var got []int
	for range 4 {
		got = append(got, post(t, ts.Client(), ts.URL+imsemu.TokenPath, goodForm(), nil).status)
	}
	emu.ClearFault()
	got = append(got, post(t, ts.Client(), ts.URL+imsemu.TokenPath, goodForm(), nil).status)
	want := []int{503, 429, 502, 502, 200}
	if !slices.Equal(got, want) {
		t.Errorf("statuses = %v, want %v", got, want)
	}
	if got := emu.Requests(); got != 5 {
		t.Errorf("Requests() = %d, want 5", got)
	}
	emu.ResetCounters()
	if got := emu.Requests(); got != 0 {
		t.Errorf("Requests() after ResetCounters = %d, want 0", got)
	}
}

func TestConnectionFaults(t *testing.T) {
	tests := []struct {
		name    string
		fault   imsemu.Fault
		timeout time.Duration
		check   func(t *testing.T, err error)
	}{
		{name: "connection reset", fault: imsemu.ConnectionReset(), timeout: 5 * time.Second, check: func(t *testing.T, err error) {
			if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("error = %v, want a connection reset", err)
			}
		}},
		{name: "hang until the client gives up", fault: imsemu.Hang(), timeout: 200 * time.Millisecond, check: func(t *testing.T, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error = %v, want context.DeadlineExceeded", err)
			}
		}},
		{name: "slow headers beyond the deadline", fault: imsemu.SlowHeaders(time.Minute), timeout: 200 * time.Millisecond, check: func(t *testing.T, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error = %v, want context.DeadlineExceeded", err)
			}
		}},
		{name: "slow body beyond the deadline", fault: imsemu.SlowBody(time.Second), timeout: 300 * time.Millisecond, check: func(t *testing.T, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("error = %v, want context.DeadlineExceeded", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, ts, _ := newServer(t)
			emu.Enqueue(tt.fault)
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ts.URL+imsemu.TokenPath, strings.NewReader(goodForm().Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			start := time.Now()
			resp, err := ts.Client().Do(req)
			if err == nil {
				_, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			if err == nil {
				t.Fatalf("request succeeded, want an error")
			}
			tt.check(t, err)
			if d := time.Since(start); d > tt.timeout+2*time.Second {
				t.Errorf("request took %v, want about %v", d, tt.timeout)
			}
		})
	}
}

func TestCloseReleasesHang(t *testing.T) {
	emu, ts, _ := newServer(t)
	emu.SetFault(imsemu.Hang())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+imsemu.TokenPath, strings.NewReader(goodForm().Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := ts.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for emu.Requests() == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	emu.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("request still held 5s after Close, want it released")
	}
}

func TestEntraThrottled(t *testing.T) {
	emu, ts, _ := newProfileServer(t, "entra-v2", imsemu.Config{})
	emu.Enqueue(imsemu.EntraThrottled())
	target := ts.URL + fill(emu.Path())
	a := post(t, ts.Client(), target, bodyCreds("scope", "api://a/.default"), nil)
	if a.status != http.StatusTooManyRequests {
		t.Errorf("status = %d, want 429", a.status)
	}
	if got := a.header.Get("Retry-After"); got != "60" {
		t.Errorf("Retry-After = %q, want 60", got)
	}
	if got := a.header.Get("Content-Type"); got != "text/plain" {
		t.Errorf("Content-Type = %q, want text/plain", got)
	}
	if got := string(a.body); got != "Too Many Requests" {
		t.Errorf("body = %q, want Too Many Requests", got)
	}
	if got := len(emu.Issued()); got != 0 {
		t.Errorf("len(Issued()) = %d, want 0", got)
	}
	if next := post(t, ts.Client(), target, bodyCreds("scope", "api://a/.default"), nil); next.status != 200 {
		t.Errorf("after the fault: status %d, want 200", next.status)
	}
}

func TestFaultsUnderProfiles(t *testing.T) {
	emu, ts, _ := newProfileServer(t, "keycloak", imsemu.Config{})
	emu.Enqueue(imsemu.Status(503, "1"), imsemu.SlowHeaders(0))
	target := ts.URL + fill(emu.Path())
	if a := post(t, ts.Client(), target, bodyCreds(), nil); a.status != 503 {
		t.Errorf("first status = %d, want 503", a.status)
	}
	if a := post(t, ts.Client(), target, bodyCreds(), nil); a.status != 200 || a.decoded["refresh_expires_in"] != 0.0 {
		t.Errorf("second answer: status %d body %s, want Keycloak's token answer", a.status, a.body)
	}
	if got := emu.Requests(); got != 2 {
		t.Errorf("Requests() = %d, want 2", got)
	}
	emu.ResetCounters()
	if got, n := emu.Requests(), len(emu.Issued()); got != 0 || n != 0 {
		t.Errorf("after ResetCounters: Requests() = %d, len(Issued()) = %d, want 0, 0", got, n)
	}
}

func TestEchoRequest(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   url.Values
		mutate func(*http.Request)
		want   []string // fragments of error_description, in order
	}{
		{"body credentials, 400", 400, goodForm(), nil,
			[]string{"POST " + imsemu.TokenPath, "body ", "client_secret=" + url.QueryEscape(secret), "headers ", "Content-Type: application/x-www-form-urlencoded"}},
		{"Basic credentials, 401", 401, noCreds("scope", testScope), withBasic,
			[]string{"POST " + imsemu.TokenPath, "body grant_type=client_credentials", "headers ", "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":"+secret))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, ts, logs := newServer(t)
			emu.Enqueue(imsemu.EchoRequest(tt.status))
			a := post(t, ts.Client(), ts.URL+imsemu.TokenPath, tt.body, tt.mutate)
			if a.status != tt.status || a.decoded["error"] != "invalid_request" {
				t.Fatalf("answer = %d %s, want %d with invalid_request", a.status, a.body, tt.status)
			}
			desc, _ := a.decoded["error_description"].(string)
			rest := desc
			for _, f := range tt.want {
				i := strings.Index(rest, f)
				if i < 0 {
					t.Fatalf("error_description = %q, want %q in it, after the fragments before it", desc, f)
				}
				rest = rest[i+len(f):]
			}
			if got := len(emu.Issued()); got != 0 {
				t.Errorf("len(Issued()) = %d, want 0", got)
			}
			if strings.Contains(logs.String(), secret) {
				t.Errorf("the emulator logged the client secret: %s", logs.String())
			}
			if r, _ := emu.LastRequest(); strings.Contains(fmt.Sprintf("%+v", r), secret) {
				t.Errorf("LastRequest() = %+v holds the client secret", r)
			}
		})
	}
	t.Run("status 0 means 400", func(t *testing.T) {
		emu, ts, _ := newServer(t)
		emu.Enqueue(imsemu.Fault{Echo: true})
		if a := post(t, ts.Client(), ts.URL+imsemu.TokenPath, goodForm(), nil); a.status != 400 {
			t.Errorf("status = %d, want 400", a.status)
		}
	})
}
