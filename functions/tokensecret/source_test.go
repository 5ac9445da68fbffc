package tokensecret_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
	"github.com/tokenrotator/tokenrotator/functions/tokensecret/tokensecrettest"
)

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  tokensecret.Config
		want string
	}{
		{"no secret id", tokensecret.Config{Client: tokensecrettest.NewClient()}, "SecretID is required"},
		{"no reader", tokensecret.Config{SecretID: "s"}, "Client is required"},
		{"negative margin", tokensecret.Config{SecretID: "s", Client: tokensecrettest.NewClient(), Margin: -time.Second}, "negative Margin"},
		{"API key header and OmitAPIKey", tokensecret.Config{SecretID: "s", Client: tokensecrettest.NewClient(), APIKeyHeader: "x-client-id", OmitAPIKey: true}, "set one or the other"},
		{"API key header with a space", tokensecret.Config{SecretID: "s", Client: tokensecrettest.NewClient(), APIKeyHeader: "x client id"}, "not a valid header name"},
		{"API key header with a colon", tokensecret.Config{SecretID: "s", Client: tokensecrettest.NewClient(), APIKeyHeader: "x-client-id:"}, "not a valid header name"},
		{"API key header is Authorization", tokensecret.Config{SecretID: "s", Client: tokensecrettest.NewClient(), APIKeyHeader: "authorization"}, "would replace the bearer token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tokensecret.New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New() error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestGetCachesUntilMargin(t *testing.T) {
	f := newFixture(t, tokensecret.Config{})
	ctx := context.Background()
	first := f.put("token-1")

	steps := []struct {
		name      string
		advance   time.Duration
		rotate    string // a new token to store before the call, if any
		wantToken string
		wantReads int
	}{
		{"first call reads", 0, "", "token-1", 1},
		{"second call is cached", time.Second, "", "token-1", 1},
		{"rotation is not seen while the token is fresh", 23 * time.Hour, "token-2", "token-1", 1},
		{"just before the margin, still cached", 55*time.Minute - time.Second - 1, "", "token-1", 1},
		{"at the margin, one read finds the new token", 1, "", "token-2", 2},
		{"the new token is cached", time.Hour, "", "token-2", 2},
	}
	for _, st := range steps {
		f.clock.Advance(st.advance)
		if st.rotate != "" {
			f.put(st.rotate)
		}
		got, err := f.src.Get(ctx)
		if err != nil {
			t.Fatalf("%s: Get() error = %v", st.name, err)
		}
		if got.AccessToken != st.wantToken {
			t.Errorf("%s: Get() = %v (access token %q), want %q", st.name, got, got.AccessToken, st.wantToken)
		}
		if n := f.sm.Reads(); n != st.wantReads {
			t.Errorf("%s: reads = %d, want %d", st.name, n, st.wantReads)
		}
	}
	if first.ClientID != "client-1" {
		t.Errorf("ClientID = %q, want client-1", first.ClientID)
	}
}

func TestGetConcurrentCallersShareOneRead(t *testing.T) {
	f := newFixture(t, tokensecret.Config{})
	f.put("token-1")
	f.sm.OnRead = func(context.Context) { time.Sleep(20 * time.Millisecond) }

	const callers = 100
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	begin := make(chan struct{})
	for range callers {
		wg.Go(func() {
			<-begin
			tok, err := f.src.Get(context.Background())
			if err == nil && tok.AccessToken != "token-1" {
				err = errors.New("wrong token")
			}
			errs <- err
		})
	}
	close(begin)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Get() error = %v", err)
		}
	}
	if got := f.sm.Reads(); got != 1 {
		t.Errorf("reads = %d, want 1", got)
	}
}

func TestGetServesCachedTokenWhenReadFails(t *testing.T) {
	f := newFixture(t, tokensecret.Config{})
	ctx := context.Background()
	f.put(sentinel)
	if _, err := f.src.Get(ctx); err != nil {
		t.Fatalf("Get() error = %v", err)
	}

	f.sm.Fail(errors.New("connection reset"))
	f.clock.Advance(23*time.Hour + 56*time.Minute) // inside the margin, 4 min left
	for i := range 3 {
		got, err := f.src.Get(ctx)
		if err != nil || got.AccessToken != sentinel {
			t.Fatalf("call %d: Get() = %v, %v; want the cached token", i, got, err)
		}
	}
	if got := f.sm.Reads(); got != 2 {
		t.Errorf("reads = %d, want 2 (one failed read, then the retry interval)", got)
	}
	if !strings.Contains(f.logs.String(), "serving the cached token") {
		t.Errorf("logs = %s, want the failure logged", f.logs)
	}

	f.clock.Advance(time.Minute) // the retry interval has passed
	if _, err := f.src.Get(ctx); err != nil {
		t.Fatalf("Get() error = %v", err)
	}
	if got := f.sm.Reads(); got != 3 {
		t.Errorf("reads after the retry interval = %d, want 3", got)
	}

	f.clock.Advance(3 * time.Minute) // now past expiry
	_, err := f.src.Get(ctx)
	if !errors.Is(err, tokensecret.ErrExpired) {
		t.Errorf("Get() after expiry error = %v, want ErrExpired", err)
	}
	if err != nil && strings.Contains(err.Error(), sentinel) {
		t.Errorf("error contains the access token: %v", err)
	}
}

func TestGetErrors(t *testing.T) {
	tests := []struct {
		name  string
		setup func(f *fixture)
		want  error
	}{
		{"secret missing", func(f *fixture) {}, tokensecret.ErrNotFound},
		{"placeholder", func(f *fixture) { f.sm.Put(tokensecrettest.Placeholder) }, tokensecret.ErrNoToken},
		{"empty access token", func(f *fixture) { f.sm.Put(`{"access_token":"","expiry":"2027-01-01T00:00:00Z"}`) }, tokensecret.ErrNoToken},
		{"access denied", func(f *fixture) { f.sm.Fail(tokensecrettest.AccessDenied()) }, tokensecret.ErrAccessDenied},
		{"not found from the SDK", func(f *fixture) { f.sm.Fail(tokensecrettest.NotFound()) }, tokensecret.ErrNotFound},
		{"expired", func(f *fixture) {
			tok := tokensecrettest.NewToken(sentinel, "client-1", start.Add(-25*time.Hour), 24*time.Hour)
			f.sm.PutToken(tok)
		}, tokensecret.ErrExpired},
		{"not JSON", func(f *fixture) { f.sm.Put("not json " + sentinel) }, tokensecret.ErrMalformed},
		{"no expiry", func(f *fixture) { f.sm.Put(`{"access_token":"` + sentinel + `","token_type":"bearer"}`) }, tokensecret.ErrMalformed},
		{"access token of the wrong type", func(f *fixture) { f.sm.Put(`{"access_token":12345678}`) }, tokensecret.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, tokensecret.Config{})
			tt.setup(f)
			tok, err := f.src.Get(context.Background())
			if !errors.Is(err, tt.want) {
				t.Fatalf("Get() = %v, %v; want error %v", tok, err, tt.want)
			}
			if !strings.Contains(err.Error(), `"adobe-token"`) {
				t.Errorf("error %q does not name the secret", err)
			}
			if strings.Contains(err.Error(), sentinel) || strings.Contains(err.Error(), "12345678") {
				t.Errorf("error %q contains the secret's value", err)
			}
			if _, err := f.src.Token(); !errors.Is(err, tt.want) {
				t.Errorf("Token() error = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestGetRecoversAfterFirstRotation(t *testing.T) {
	f := newFixture(t, tokensecret.Config{})
	f.sm.Put(tokensecrettest.Placeholder)
	if _, err := f.src.Get(context.Background()); !errors.Is(err, tokensecret.ErrNoToken) {
		t.Fatalf("Get() error = %v, want ErrNoToken", err)
	}
	f.put("token-1")
	got, err := f.src.Get(context.Background())
	if err != nil || got.AccessToken != "token-1" {
		t.Errorf("Get() = %v, %v; want token-1 (no negative caching without a token)", got, err)
	}
}

func TestRotatorLateReadsOncePerRetryInterval(t *testing.T) {
	f := newFixture(t, tokensecret.Config{})
	f.put("token-1")
	ctx := context.Background()
	if _, err := f.src.Get(ctx); err != nil {
		t.Fatal(err)
	}
	// No rotation: at the margin the read finds the same token.
	f.clock.Advance(23*time.Hour + 55*time.Minute)
	for range 4 * 60 { // four minutes of calls, one a second
		if _, err := f.src.Get(ctx); err != nil {
			t.Fatalf("Get() error = %v", err)
		}
		f.clock.Advance(time.Second)
	}
	if got := f.sm.Reads(); got != 5 {
		t.Errorf("reads = %d, want 5 (start, then one a minute)", got)
	}
	if !strings.Contains(f.logs.String(), "is the rotator running?") {
		t.Errorf("logs = %s, want a warning about the late rotation", f.logs)
	}
}

func TestInvalidate(t *testing.T) {
	f := newFixture(t, tokensecret.Config{})
	ctx := context.Background()
	f.put("token-1")
	if _, err := f.src.Get(ctx); err != nil {
		t.Fatal(err)
	}
	f.put("token-2")
	f.src.Invalidate()
	got, err := f.src.Get(ctx)
	if err != nil || got.AccessToken != "token-2" {
		t.Errorf("Get() after Invalidate = %v, %v; want token-2", got, err)
	}
	if n := f.sm.Reads(); n != 2 {
		t.Errorf("reads = %d, want 2", n)
	}
}

func TestRejectReadsOnceForManyReports(t *testing.T) {
	f := newFixture(t, tokensecret.Config{})
	ctx := context.Background()
	f.put("token-1")
	old, err := f.src.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f.put("token-2")
	f.sm.OnRead = func(context.Context) { time.Sleep(10 * time.Millisecond) }

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			got, err := f.src.Reject(ctx, old)
			if err != nil || got.AccessToken != "token-2" {
				t.Errorf("Reject() = %v, %v; want token-2", got, err)
			}
		})
	}
	wg.Wait()
	if n := f.sm.Reads(); n != 2 {
		t.Errorf("reads = %d, want 2", n)
	}

	// The secret still holds the rejected token: one read, then none
	// before the retry interval.
	cur, _ := f.src.Get(ctx)
	for range 3 {
		got, err := f.src.Reject(ctx, cur)
		if err != nil || got.AccessToken != "token-2" {
			t.Errorf("Reject() = %v, %v; want token-2 again", got, err)
		}
	}
	if n := f.sm.Reads(); n != 3 {
		t.Errorf("reads = %d, want 3", n)
	}
}

func TestGetReturnsWhenContextEnds(t *testing.T) {
	f := newFixture(t, tokensecret.Config{})
	f.put("token-1")
	release := make(chan struct{})
	f.sm.OnRead = func(context.Context) { <-release }
	defer close(release)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := f.src.Get(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Get() error = %v, want context.DeadlineExceeded", err)
	}
}

func TestStaticSource(t *testing.T) {
	tests := []struct {
		name    string
		tok     tokensecret.Token
		wantErr error
	}{
		{"never expires", tokensecret.Token{AccessToken: "t", ClientID: "c"}, nil},
		{"valid", tokensecrettest.NewToken("t", "c", time.Now(), time.Hour), nil},
		{"expired", tokensecrettest.NewToken("t", "c", time.Now().Add(-2*time.Hour), time.Hour), tokensecret.ErrExpired},
		{"empty", tokensecret.Token{}, tokensecret.ErrNoToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tokensecret.StaticSource(tt.tok).Get(context.Background())
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Get() error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && got.AccessToken != tt.tok.AccessToken {
				t.Errorf("Get() = %q, want %q", got.AccessToken, tt.tok.AccessToken)
			}
		})
	}
}
