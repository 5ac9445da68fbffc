package rotation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/smithy-go"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

// deniedStore fails the first denials credentials reads with err, as
// Secrets Manager answers a role IAM has not propagated yet.
type deniedStore struct {
	*fleetStore
	mu      sync.Mutex
	denials int
	err     error
}

func (d *deniedStore) ReadCredentials(ctx context.Context, id string) (secretstore.Credentials, error) {
	d.mu.Lock()
	fail := d.denials > 0
	if fail {
		d.denials--
	}
	d.mu.Unlock()
	if fail {
		return secretstore.Credentials{}, fmt.Errorf("reading credentials secret %q: %w", id, d.err)
	}
	return d.fleetStore.ReadCredentials(ctx, id)
}

func accessDenied(service string) error {
	return &smithy.OperationError{ServiceID: service, OperationName: "GetSecretValue",
		Err: &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User: arn:aws:sts::123456789012:assumed-role/x is not authorized"}}
}

// TestFirstTokenRetriesAccessDenied: a custom-resource Create retries an
// AccessDeniedException from Secrets Manager (a role created seconds
// before, IAM not propagated yet), with a WARN line per retry; any other
// error, and a scheduled run, fail at once.
func TestFirstTokenRetriesAccessDenied(t *testing.T) {
	var reported []string
	cfn := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		reported = append(reported, fmt.Sprint(m["Status"]))
	}))
	defer cfn.Close()
	create := json.RawMessage(`{"RequestType":"Create","ResponseURL":"` + cfn.URL + `","StackId":"s","RequestId":"r","LogicalResourceId":"FirstToken","ResourceProperties":{}}`)
	setup := func(denials int, err error) (*Rotator, *deniedStore, *bytes.Buffer) {
		store := &deniedStore{fleetStore: newFleetStore(), denials: denials, err: err}
		store.creds["creds"] = secretstore.Credentials{Credentials: oauthtoken.Credentials{ClientID: "own", ClientSecret: sentinelSecret}}
		var logs bytes.Buffer
		r := New(Config{
			Settings: config.Config{Integration: "default", CredentialsSecretID: "creds", TokenSecretID: "token",
				Provider: config.Provider{TokenURL: "https://own.example/token", Scope: "s", TokenAuth: config.AuthBody, MinTokenAge: time.Hour}},
			Store: store, Fetchers: (&urlFetcher{}).forProvider, Now: func() time.Time { return now },
			Logger: slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs}, nil)),
		})
		return r, store, &logs
	}

	t.Run("denied twice, then the role works", func(t *testing.T) {
		reported = nil
		r, store, logs := setup(2, accessDenied("Secrets Manager"))
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		start := time.Now()
		res, err := r.Handle(ctx, create)
		if err != nil || res.CustomResource != "SUCCESS" || len(reported) != 1 || reported[0] != "SUCCESS" || store.writes["token"] != 1 {
			t.Fatalf("Handle(Create) = %+v, %v, reported %v, writes %v; want SUCCESS after the retries", res, err, reported, store.writes)
		}
		if took := time.Since(start); took < 3*time.Second {
			t.Errorf("took %v, want the 1 s and 2 s waits between the tries", took)
		}
		if n := strings.Count(logs.String(), `"level":"WARN","msg":"custom resource: Secrets Manager denied access, retrying`); n != 2 {
			t.Errorf("%d WARN lines, want one per retry:\n%s", n, logs)
		}
		if strings.Contains(logs.String(), sentinelSecret) {
			t.Error("the log holds the client secret")
		}
	})
	t.Run("another error fails at once", func(t *testing.T) {
		reported = nil
		r, _, logs := setup(1, &smithy.OperationError{ServiceID: "Secrets Manager", OperationName: "GetSecretValue",
			Err: &smithy.GenericAPIError{Code: "ResourceNotFoundException", Message: "no such secret"}})
		res, err := r.Handle(context.Background(), create)
		if err != nil || !strings.HasPrefix(res.CustomResource, "FAILED") || strings.Contains(logs.String(), "retrying") {
			t.Errorf("Handle(Create) = %+v, %v; want FAILED without a retry", res, err)
		}
	})
	t.Run("AccessDenied from another service fails at once", func(t *testing.T) {
		reported = nil
		r, _, logs := setup(1, accessDenied("KMS"))
		if res, _ := r.Handle(context.Background(), create); !strings.HasPrefix(res.CustomResource, "FAILED") || strings.Contains(logs.String(), "retrying") {
			t.Errorf("Handle(Create) = %+v; want FAILED without a retry", res)
		}
	})
	t.Run("no time left to retry", func(t *testing.T) {
		reported = nil
		r, _, logs := setup(5, accessDenied("Secrets Manager"))
		ctx, cancel := context.WithTimeout(context.Background(), 12*time.Second)
		defer cancel()
		start := time.Now()
		res, _ := r.Handle(ctx, create)
		if !strings.HasPrefix(res.CustomResource, "FAILED") || !strings.Contains(res.CustomResource, "AccessDeniedException") {
			t.Errorf("Handle(Create) = %+v; want FAILED with the AccessDeniedException", res)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("took %v: the retries must leave the run its reserve before the deadline", took)
		}
		if n := strings.Count(logs.String(), "retrying"); n > 1 {
			t.Errorf("%d retries with 12 s left, want at most 1", n)
		}
	})
	t.Run("a scheduled run fails at once", func(t *testing.T) {
		r, _, logs := setup(1, accessDenied("Secrets Manager"))
		if _, err := r.Handle(context.Background(), json.RawMessage(`{}`)); err == nil || strings.Contains(logs.String(), "retrying") {
			t.Errorf("Handle({}) error = %v; want the AccessDeniedException at once", err)
		}
	})
}
