package faultproxy_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
)

// backend stands in for moto_server: it records each body and answers a
// GetSecretValue or PutSecretValue output.
type backend struct {
	mu     sync.Mutex
	bodies []string
}

func (b *backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	b.mu.Lock()
	b.bodies = append(b.bodies, string(body))
	b.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_, _ = io.WriteString(w, `{"Name":"s","VersionId":"v1","SecretString":"{}"}`)
}

func (b *backend) received() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.bodies...)
}

// setup returns a proxy in front of a fake backend and an SDK client that
// calls it with maxAttempts attempts per call (0: the SDK's default).
func setup(t *testing.T, maxAttempts int) (*faultproxy.Proxy, *backend, *secretsmanager.Client) {
	t.Helper()
	be := &backend{}
	beSrv := httptest.NewServer(be)
	t.Cleanup(beSrv.Close)
	p, err := faultproxy.New(beSrv.URL)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	t.Cleanup(p.Close)
	sm := secretsmanager.NewFromConfig(aws.Config{
		Region:           "us-east-1",
		Credentials:      credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint:     aws.String(srv.URL),
		RetryMaxAttempts: maxAttempts,
	})
	return p, be, sm
}

func get(ctx context.Context, sm *secretsmanager.Client, id string) error {
	_, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	return err
}

func TestFaultsReachTheSDKAsAPIErrors(t *testing.T) {
	tests := []struct {
		name       string
		fault      faultproxy.Fault
		wantCode   string
		wantStatus int
		wantTyped  func(error) bool // the SDK's modeled error type, if any
	}{
		{"throttling", faultproxy.Throttling(), "ThrottlingException", 400, nil},
		{"internal service error", faultproxy.InternalServiceError(), "InternalServiceError", 500,
			func(err error) bool { var e *types.InternalServiceError; return errors.As(err, &e) }},
		{"access denied", faultproxy.AccessDenied(), "AccessDeniedException", 400, nil},
		{"resource not found", faultproxy.ResourceNotFound(), "ResourceNotFoundException", 400,
			func(err error) bool { var e *types.ResourceNotFoundException; return errors.As(err, &e) }},
		{"decryption failure", faultproxy.DecryptionFailure(), "DecryptionFailure", 400,
			func(err error) bool { var e *types.DecryptionFailure; return errors.As(err, &e) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, be, sm := setup(t, 1)
			p.Inject(faultproxy.Rule{Target: faultproxy.GetSecretValue, Fault: tt.fault})
			err := get(context.Background(), sm, "app/credentials")
			var api smithy.APIError
			if !errors.As(err, &api) || api.ErrorCode() != tt.wantCode {
				t.Fatalf("GetSecretValue() error = %v, want API error %s", err, tt.wantCode)
			}
			var re *awshttp.ResponseError
			if !errors.As(err, &re) || re.HTTPStatusCode() != tt.wantStatus {
				t.Errorf("GetSecretValue() error = %v, want HTTP %d", err, tt.wantStatus)
			}
			if tt.wantTyped != nil && !tt.wantTyped(err) {
				t.Errorf("GetSecretValue() error = %T, want the SDK's modeled type for %s", errors.Unwrap(err), tt.wantCode)
			}
			if !strings.Contains(err.Error(), tt.fault.Message) {
				t.Errorf("GetSecretValue() error = %v, want the message %q", err, tt.fault.Message)
			}
			if n := len(be.received()); n != 0 {
				t.Errorf("calls at the backend = %d, want 0", n)
			}
			if got, want := p.Faulted(faultproxy.GetSecretValue), 1; got != want {
				t.Errorf("Faulted() = %d, want %d", got, want)
			}
		})
	}
}

func TestRuleMatchesOperationAndSecretID(t *testing.T) {
	p, be, sm := setup(t, 1)
	p.Inject(faultproxy.Rule{Target: faultproxy.GetSecretValue, SecretID: "app/credentials", Fault: faultproxy.AccessDenied()})
	ctx := context.Background()
	if err := get(ctx, sm, "app/token"); err != nil {
		t.Errorf("GetSecretValue(app/token) error = %v, want it forwarded", err)
	}
	if err := get(ctx, sm, "app/credentials"); err == nil {
		t.Error("GetSecretValue(app/credentials) error = nil, want AccessDeniedException")
	}
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("app/credentials"), SecretString: aws.String("{}")}); err != nil {
		t.Errorf("PutSecretValue(app/credentials) error = %v, want it forwarded (the rule names GetSecretValue)", err)
	}
	tests := []struct {
		name      string
		got, want int
	}{
		{"Calls(GetSecretValue)", p.Calls(faultproxy.GetSecretValue), 2},
		{"Forwarded(GetSecretValue)", p.Forwarded(faultproxy.GetSecretValue), 1},
		{"Faulted(GetSecretValue)", p.Faulted(faultproxy.GetSecretValue), 1},
		{"Calls(PutSecretValue)", p.Calls(faultproxy.PutSecretValue), 1},
		{"Forwarded(PutSecretValue)", p.Forwarded(faultproxy.PutSecretValue), 1},
		{"Calls(all)", p.Calls(""), 3},
		{"backend calls", len(be.received()), 2},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %d, want %d", tt.name, tt.got, tt.want)
		}
	}
	p.ResetCounters()
	if got := p.Calls(""); got != 0 {
		t.Errorf("Calls() after ResetCounters = %d, want 0", got)
	}
	p.Clear()
	if err := get(ctx, sm, "app/credentials"); err != nil {
		t.Errorf("GetSecretValue() after Clear error = %v, want it forwarded", err)
	}
}

func TestTimesLimitsTheFaultAndTheSDKRetries(t *testing.T) {
	p, _, sm := setup(t, 0) // the SDK's default retryer, as in production
	p.Inject(faultproxy.Rule{Target: faultproxy.GetSecretValue, Fault: faultproxy.InternalServiceError(), Times: 1})
	if err := get(context.Background(), sm, "app/token"); err != nil {
		t.Fatalf("GetSecretValue() error = %v, want success on the SDK's retry", err)
	}
	if got, want := p.Calls(faultproxy.GetSecretValue), 2; got != want {
		t.Errorf("Calls() = %d, want %d", got, want)
	}
	if got, want := p.Faulted(faultproxy.GetSecretValue), 1; got != want {
		t.Errorf("Faulted() = %d, want %d", got, want)
	}
}

func TestBodyReachesTheBackendIntact(t *testing.T) {
	p, be, sm := setup(t, 1)
	value := `{"access_token":"` + strings.Repeat("x", 70<<10) + `"}` // larger than a read buffer
	_, err := sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String("app/token"), SecretString: aws.String(value)})
	if err != nil {
		t.Fatalf("PutSecretValue() error = %v", err)
	}
	got := be.received()
	if len(got) != 1 || !strings.Contains(got[0], `"SecretId":"app/token"`) || !strings.Contains(got[0], strings.Repeat("x", 70<<10)) {
		t.Errorf("backend got %d bodies (first %d bytes), want the whole request once", len(got), len(strings.Join(got, "")))
	}
	if got, want := p.Forwarded(faultproxy.PutSecretValue), 1; got != want {
		t.Errorf("Forwarded() = %d, want %d", got, want)
	}
}

func TestTimeoutHoldsUntilTheClientGivesUp(t *testing.T) {
	p, be, sm := setup(t, 1)
	p.Inject(faultproxy.Rule{Target: faultproxy.GetSecretValue, Fault: faultproxy.Timeout()})
	start := time.Now() // before the deadline is set, so that took cannot come out under it
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := get(ctx, sm, "app/token")
	if took := time.Since(start); err == nil || took < 300*time.Millisecond || took > 5*time.Second {
		t.Fatalf("GetSecretValue() = %v after %v, want an error once the client's 300ms ran out", err, took)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GetSecretValue() error = %v, want the client's deadline", err)
	}
	if n := len(be.received()); n != 0 {
		t.Errorf("calls at the backend = %d, want 0", n)
	}
}

func TestCloseReleasesHeldCalls(t *testing.T) {
	p, _, sm := setup(t, 1)
	p.Inject(faultproxy.Rule{Target: faultproxy.GetSecretValue, Fault: faultproxy.Timeout()})
	errc := make(chan error, 1)
	go func() { errc <- get(context.Background(), sm, "app/token") }()
	for p.Calls(faultproxy.GetSecretValue) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	p.Close()
	select {
	case err := <-errc:
		if err == nil {
			t.Error("GetSecretValue() error = nil, want one for the call answered with nothing")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("GetSecretValue() still held 5s after Close")
	}
}

func TestNewRefusesABadBackend(t *testing.T) {
	for _, backend := range []string{"", "127.0.0.1:4566", "::"} {
		if _, err := faultproxy.New(backend); err == nil {
			t.Errorf("New(%q) error = nil, want one", backend)
		}
	}
}

func TestRuleString(t *testing.T) {
	tests := []struct {
		rule faultproxy.Rule
		want string
	}{
		{faultproxy.Rule{Target: faultproxy.GetSecretValue, SecretID: "app/token", Fault: faultproxy.Throttling()},
			"ThrottlingException (HTTP 400) on every secretsmanager.GetSecretValue of app/token"},
		{faultproxy.Rule{Target: faultproxy.PutSecretValue, Fault: faultproxy.Timeout(), Times: 1},
			"timeout (no answer) on the first secretsmanager.PutSecretValue"},
		{faultproxy.Rule{Target: faultproxy.PutSecretValue, Fault: faultproxy.InternalServiceError(), Times: 2},
			"InternalServiceError (HTTP 500) on the first 2 secretsmanager.PutSecretValue"},
	}
	for _, tt := range tests {
		if got := tt.rule.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestLostAnswerCarriesTheCallOut(t *testing.T) {
	for _, f := range []faultproxy.Fault{faultproxy.LostAnswer(), {Type: "InternalServiceError", Status: 500, Message: "x", Lost: true}} {
		p, be, sm := setup(t, 1)
		p.Inject(faultproxy.Rule{Target: faultproxy.PutSecretValue, Fault: f, Times: 1})
		_, err := sm.PutSecretValue(context.Background(), &secretsmanager.PutSecretValueInput{SecretId: aws.String("app/token"), SecretString: aws.String("{}")})
		if err == nil {
			t.Errorf("%s: PutSecretValue() succeeded, want the answer lost", f)
		}
		if got := be.received(); len(got) != 1 {
			t.Errorf("%s: backend got %d calls, want the call carried out once", f, len(got))
		}
		if p.Forwarded(faultproxy.PutSecretValue) != 1 || p.Faulted(faultproxy.PutSecretValue) != 1 {
			t.Errorf("%s: Forwarded() = %d, Faulted() = %d; want 1 and 1", f, p.Forwarded(faultproxy.PutSecretValue), p.Faulted(faultproxy.PutSecretValue))
		}
	}
	if got := faultproxy.LostAnswer().String(); got != "carried out, then timeout (no answer)" {
		t.Errorf("LostAnswer().String() = %q", got)
	}
}
