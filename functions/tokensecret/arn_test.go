package tokensecret_test

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
	"github.com/tokenrotator/tokenrotator/functions/tokensecret/tokensecrettest"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

// inAccount makes moto_server take every request as one of account:
// moto keeps one set of secrets per account, chosen by this header.
type inAccount struct {
	account string
	next    aws.HTTPClient
}

func (a inAccount) Do(req *http.Request) (*http.Response, error) {
	req.Header.Set("x-moto-account-id", a.account)
	return a.next.Do(req)
}

// accountClient is a Secrets Manager client of account on srv.
func accountClient(srv *motoserver.Server, account string) *secretsmanager.Client {
	cfg := srv.AWSConfig()
	cfg.HTTPClient = inAccount{account: account, next: http.DefaultClient}
	return secretsmanager.NewFromConfig(cfg)
}

// quietLogger is a test logger whose lines must not show the token.
func quietLogger(t *testing.T) *slog.Logger {
	t.Helper()
	logs := &syncbuf.Buffer{}
	t.Cleanup(func() {
		if containsSentinel(logs.String()) {
			t.Errorf("logs contain the access token:\n%s", logs)
		}
	})
	return newTestLogger(logs)
}

// TestMotoReadsByFullARN: a Source reads a token secret by its full ARN,
// as a reader in another account must name it (a name means a secret of
// the caller's own account), and as the consumer blocks of this package's
// README.md take it from TOKEN_SECRET_ID.
func TestMotoReadsByFullARN(t *testing.T) {
	srv := motoserver.ForTest(t)
	sm := secretsmanager.NewFromConfig(srv.AWSConfig())
	tok := tokensecrettest.NewToken(sentinel+"-by-arn", "client-1", time.Now(), 24*time.Hour)
	out, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{
		Name: aws.String("tokenrotator/token"), SecretString: aws.String(tokensecrettest.SecretString(tok)),
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.ARN)
	if !strings.HasPrefix(arn, "arn:aws:secretsmanager:") {
		t.Fatalf("CreateSecret ARN = %q, want a full ARN", arn)
	}
	src, err := tokensecret.New(tokensecret.Config{SecretID: arn, Client: sm, Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.Get(t.Context())
	if err != nil || got.AccessToken != tok.AccessToken {
		t.Errorf("Get() by ARN %s = %v, %v; want the stored token", arn, got, err)
	}
}

// TestMotoCannotReadAcrossAccounts records why no test here reads a token
// from another account: moto_server 5.2.1 looks a secret up in the
// caller's own account only, whatever the ARN's account and the secret's
// resource policy say, so a reader in account B that the policy names gets
// ResourceNotFoundException for account A's ARN. The grant is held by
// templatecheck (the policies' shape) instead, as "Readers in other
// accounts" in this package's README.md says. Should a moto release serve such reads, this test
// fails: write the real read then. It also shows that the Source passes
// the other account's ARN as it is, and reports the failure as
// ErrNotFound.
func TestMotoCannotReadAcrossAccounts(t *testing.T) {
	const stackAccount, readerAccount = "111111111111", "222222222222"
	srv := motoserver.ForTest(t)
	owner := accountClient(srv, stackAccount)
	tok := tokensecrettest.NewToken(sentinel+"-xacct", "client-1", time.Now(), 24*time.Hour)
	out, err := owner.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{
		Name: aws.String("tokenrotator/token"), SecretString: aws.String(tokensecrettest.SecretString(tok)),
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.ARN)
	if !strings.Contains(arn, ":"+stackAccount+":") {
		t.Fatalf("CreateSecret ARN = %q, want one of account %s: moto ignored x-moto-account-id", arn, stackAccount)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Sid":"ReaderAccountsReadToken","Effect":"Allow",` +
		`"Principal":{"AWS":"` + readerAccount + `"},"Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	if _, err := owner.PutResourcePolicy(t.Context(), &secretsmanager.PutResourcePolicyInput{
		SecretId: aws.String(arn), ResourcePolicy: aws.String(policy), BlockPublicPolicy: aws.Bool(true),
	}); err != nil {
		t.Fatal(err)
	}
	src, err := tokensecret.New(tokensecret.Config{SecretID: arn, Client: accountClient(srv, readerAccount), Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := src.Get(t.Context())
	switch {
	case err == nil:
		t.Fatalf("Get() from account %s read the token of account %s (%v): moto now serves reads across accounts; replace this test with the real read", readerAccount, stackAccount, got)
	case !errors.Is(err, tokensecret.ErrNotFound):
		t.Fatalf("Get() from account %s error = %v, want ErrNotFound, moto's answer for a secret of another account", readerAccount, err)
	case strings.Contains(err.Error(), sentinel):
		t.Errorf("Get() error shows the access token: %v", err)
	}
}
