package secretstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
)

const sentinel = "SENTINEL-secret-4b1d"

func TestParseToken(t *testing.T) {
	good := `{"access_token":"` + sentinel + `","token_type":"bearer","expiry":"2026-11-29T16:00:00Z","issued_at":"2026-11-28T16:00:01Z","client_id":"c","scope":"s"}`
	tests := []struct{ name, in, problem string }{
		{"a token", good, ""},
		{"Bearer in capitals", strings.Replace(good, `"bearer"`, `"Bearer"`, 1), ""},
		{"empty", ``, "no value"},
		{"placeholder", `{}`, "placeholder"},
		{"not JSON", `not json ` + sentinel, "not a JSON object"},
		{"an array", `[1]`, "not a JSON object"},
		{"no access_token", strings.Replace(good, sentinel, "", 1), "no access_token"},
		{"mac token", strings.Replace(good, `"bearer"`, `"mac"`, 1), "not bearer"},
		{"expiry not RFC 3339", strings.Replace(good, `"2026-11-29T16:00:00Z"`, `"tomorrow"`, 1), "format"},
		{"no expiry", strings.Replace(good, `"expiry":"2026-11-29T16:00:00Z",`, ``, 1), "no expiry"},
		{"no issued_at", strings.Replace(good, `"issued_at":"2026-11-28T16:00:01Z",`, ``, 1), "no issued_at"},
		{"expiry before issued_at", strings.Replace(good, `2026-11-29T16`, `2026-11-27T16`, 1), "not after issued_at"},
		{"access_token a number", strings.Replace(good, `"`+sentinel+`"`, `42`, 1), "format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, problem := secretstore.ParseToken(tt.in)
			if (tt.problem == "") != (problem == "") || !strings.Contains(problem, tt.problem) {
				t.Errorf("ParseToken() problem = %q, want %q", problem, tt.problem)
			}
			if strings.Contains(problem, sentinel) || strings.Contains(fmt.Sprintf("%v %+v %#v %s", v, v, v, v), sentinel) {
				t.Errorf("ParseToken() leaked the token in %q or the value's printout", problem)
			}
		})
	}
}

// newStore returns a Store on a fresh moto and the raw client beside it.
func newStore(t *testing.T) (*secretstore.Store, *secretsmanager.Client) {
	t.Helper()
	srv := motoserver.ForTest(t)
	sm := secretsmanager.NewFromConfig(srv.AWSConfig())
	return secretstore.New(sm), sm
}

func create(t *testing.T, sm *secretsmanager.Client, name string, value *string) {
	t.Helper()
	if _, err := sm.CreateSecret(context.Background(), &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: value}); err != nil {
		t.Fatalf("CreateSecret(%s): %v", name, err)
	}
}

func TestReadCredentials(t *testing.T) {
	s, sm := newStore(t)
	ctx := context.Background()
	cases := []struct{ name, value, wantErr string }{
		{"good", `{"client_id":"id-1","client_secret":"` + sentinel + `","extra":1}`, ""},
		{"not JSON", `client_secret=` + sentinel, `credentials secret "not JSON": value is not a JSON object`},
		{"no secret", `{"client_id":"id-1"}`, ""}, // private_key_jwt; rotation asks config.Provider.CheckClientSecret
		{"blank secret", `{"client_id":"x","client_secret":" "}`, `credentials secret "blank secret": field "client_secret" is empty`},
		{"empty id", `{"client_id":"","client_secret":"` + sentinel + `"}`, `field "client_id" is empty`},
		{"secret a number", `{"client_id":"x","client_secret":7}`, `field "client_secret" is not a string`},
	}
	for _, c := range cases {
		create(t, sm, c.name, aws.String(c.value))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			creds, err := s.ReadCredentials(ctx, c.name)
			if c.wantErr == "" {
				wantSecret := sentinel
				if c.name == "no secret" {
					wantSecret = ""
				}
				if err != nil || creds.ClientID != "id-1" || creds.ClientSecret != wantSecret {
					t.Fatalf("ReadCredentials() = %v, %v; want id-1 and the secret", creds, err)
				}
				// Read by name, it carries the full ARN: the secret's one spelling.
				if !strings.HasPrefix(creds.ARN, "arn:aws:secretsmanager:") || !strings.Contains(creds.ARN, ":secret:"+c.name+"-") {
					t.Errorf("ReadCredentials(%q).ARN = %q, want the secret's full ARN", c.name, creds.ARN)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("ReadCredentials() error = %v, want it to contain %q", err, c.wantErr)
			}
			if strings.Contains(err.Error(), sentinel) {
				t.Errorf("ReadCredentials() error leaks the secret: %v", err)
			}
		})
	}
	t.Run("missing secret", func(t *testing.T) {
		_, err := s.ReadCredentials(ctx, "nope")
		if err == nil || !strings.Contains(err.Error(), `reading credentials secret "nope"`) || !strings.Contains(err.Error(), "ResourceNotFoundException") {
			t.Errorf("ReadCredentials() error = %v, want a not-found naming the secret", err)
		}
	})
}

func TestTokenRoundTrip(t *testing.T) {
	s, sm := newStore(t)
	ctx := context.Background()
	create(t, sm, "empty", nil)
	create(t, sm, "placeholder", aws.String(`{}`))
	for _, name := range []string{"empty", "placeholder", "never-created"} {
		cur, err := s.ReadToken(ctx, name)
		if err != nil || cur.Problem == "" {
			t.Errorf("ReadToken(%s) = %+v, %v; want a problem and no error", name, cur, err)
		}
	}
	issued := time.Date(2026, 11, 28, 16, 0, 1, 0, time.UTC)
	v := secretstore.TokenValue{AccessToken: sentinel, TokenType: "bearer", IssuedAt: issued, Expiry: issued.Add(86399 * time.Second), ClientID: "c", Scope: "openid,AdobeID"}
	first, err := s.WriteToken(ctx, "placeholder", v)
	if err != nil {
		t.Fatalf("WriteToken() error = %v", err)
	}
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("placeholder")})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"access_token":"` + sentinel + `","token_type":"bearer","expiry":"2026-11-29T16:00:00Z","issued_at":"2026-11-28T16:00:01Z","client_id":"c","scope":"openid,AdobeID"}`
	if got := aws.ToString(out.SecretString); got != want {
		t.Errorf("stored value = %s, want %s", got, want)
	}
	second, err := s.WriteToken(ctx, "placeholder", v)
	if err != nil {
		t.Fatalf("second WriteToken() error = %v", err)
	}
	prev, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("placeholder"), VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil || aws.ToString(prev.VersionId) != first {
		t.Errorf("AWSPREVIOUS = %v, %v; want the first write %s", aws.ToString(prev.VersionId), err, first)
	}
	cur, err := s.ReadToken(ctx, "placeholder")
	if err != nil || cur.Problem != "" || cur.VersionID != second || cur.Value.AccessToken != sentinel {
		t.Errorf("ReadToken() = %+v, %v; want version %s holding the token", cur, err, second)
	}
	if _, err := s.WriteToken(ctx, "never-created", v); err == nil || !strings.Contains(err.Error(), `writing token secret "never-created"`) {
		t.Errorf("WriteToken(missing secret) error = %v, want one naming it", err)
	}
}

// hangingSM never answers until its context ends.
type hangingSM struct {
	secretstore.SecretsManager // the calls not made here: nil
}

func (hangingSM) GetSecretValue(ctx context.Context, _ *secretsmanager.GetSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func (hangingSM) PutSecretValue(ctx context.Context, _ *secretsmanager.PutSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestCallsEndBeforeTheDeadline(t *testing.T) {
	s := secretstore.New(hangingSM{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	_, err := s.ReadCredentials(ctx, "creds")
	if err == nil || !strings.Contains(err.Error(), `reading credentials secret "creds": no answer from Secrets Manager in time`) {
		t.Fatalf("ReadCredentials() error = %v, want a timeout naming the secret", err)
	}
	if ctx.Err() != nil {
		t.Errorf("ReadCredentials() returned after %v, want it back before the 2 s deadline", time.Since(start))
	}
}

// TestCredentialsNeverPrint: the other fields of a credentials secret may
// hold other secrets; printing or logging Credentials shows neither them
// nor the client secret.
func TestCredentialsNeverPrint(t *testing.T) {
	creds, err := secretstore.ParseCredentials(`{"client_id":"id-1","client_secret":"` + sentinel + `","private_key":"` + sentinel + `-2","token_url":"https://x.example/t"}`)
	if err != nil || len(creds.Fields) != 2 {
		t.Fatalf("ParseCredentials() = %v (%d other fields), %v; want id-1 with 2 other fields", creds, len(creds.Fields), err)
	}
	var logs strings.Builder
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("creds", "creds", creds)
	for _, out := range []string{fmt.Sprint(creds), fmt.Sprintf("%+v", creds), fmt.Sprintf("%#v", creds), fmt.Sprintf("%s", creds), logs.String()} {
		if strings.Contains(out, sentinel) || !strings.Contains(out, "id-1") {
			t.Errorf("printed %q, want the client id and no secret", out)
		}
	}
}
