package tokensecret_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
	"github.com/tokenrotator/tokenrotator/functions/tokensecret/tokensecrettest"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

// countingClient counts the reads that reach Secrets Manager, and can be
// pointed at another client mid-test to make them fail.
type countingClient struct {
	reads atomic.Int64
	mu    sync.Mutex
	next  tokensecret.Client
}

func (c *countingClient) GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error) {
	c.reads.Add(1)
	c.mu.Lock()
	next := c.next
	c.mu.Unlock()
	return next.GetSecretValue(ctx, in, opts...)
}

func (c *countingClient) swap(next tokensecret.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next = next
}

// motoSecret is a token secret in moto_server with a source reading it
// through a counting client and a fake clock.
type motoSecret struct {
	sm    *secretsmanager.Client
	count *countingClient
	clock *tokensecrettest.Clock
	src   *tokensecret.Source
	id    string
}

func newMotoSecret(t *testing.T, srv *motoserver.Server, id string) *motoSecret {
	t.Helper()
	sm := secretsmanager.NewFromConfig(srv.AWSConfig())
	if _, err := sm.CreateSecret(t.Context(), &secretsmanager.CreateSecretInput{Name: aws.String(id)}); err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	m := &motoSecret{sm: sm, count: &countingClient{next: sm}, clock: tokensecrettest.NewClock(start), id: id}
	logs := &syncbuf.Buffer{}
	src, err := tokensecret.New(tokensecret.Config{SecretID: id, Client: m.count, Now: m.clock.Now, Logger: newTestLogger(logs)})
	if err != nil {
		t.Fatal(err)
	}
	m.src = src
	t.Cleanup(func() {
		if out := logs.String(); containsSentinel(out) {
			t.Errorf("logs contain the access token:\n%s", out)
		}
	})
	return m
}

// rotate writes a new token issued now, lasting 24 h, as the rotator does.
func (m *motoSecret) rotate(t *testing.T, access string) tokensecret.Token {
	t.Helper()
	tok := tokensecrettest.NewToken(access, "client-1", m.clock.Now(), 24*time.Hour)
	if _, err := m.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(m.id), SecretString: aws.String(tokensecrettest.SecretString(tok)),
	}); err != nil {
		t.Fatalf("PutSecretValue: %v", err)
	}
	return tok
}

func TestMotoSimulated72Hours(t *testing.T) {
	srv := motoserver.ForTest(t)
	m := newMotoSecret(t, srv, "sim-72h")
	ctx := t.Context()

	const (
		hours    = 72
		rotation = 23 * time.Hour
	)
	rotations := 0
	current := m.rotate(t, "token-0")
	nextRotation := start.Add(rotation)
	for s := 0; s < hours*3600; s++ {
		now := m.clock.Now()
		if !now.Before(nextRotation) {
			rotations++
			current = m.rotate(t, "token-"+strconv.Itoa(rotations))
			nextRotation = nextRotation.Add(rotation)
		}
		tok, err := m.src.Get(ctx)
		if err != nil {
			t.Fatalf("at %v: Get() error = %v", now.Sub(start), err)
		}
		if !now.Before(tok.Expiry) {
			t.Fatalf("at %v: Get() returned a token that expired at %v", now.Sub(start), tok.Expiry)
		}
		m.clock.Advance(time.Second)
	}
	reads := int(m.count.reads.Load())
	t.Logf("%d h simulated, %d rotations, %d Secrets Manager reads", hours, rotations, reads)
	if want := rotations + 1; reads > want {
		t.Errorf("reads = %d, want at most %d (one per rotation plus one at start)", reads, want)
	}
	if tok, _ := m.src.Get(ctx); tok.AccessToken != current.AccessToken {
		t.Errorf("final token = %v, want the latest, %v", tok, current)
	}
}

func TestMotoConcurrentCallersShareOneRead(t *testing.T) {
	srv := motoserver.ForTest(t)
	m := newMotoSecret(t, srv, "concurrent")
	m.rotate(t, "token-1")

	var wg sync.WaitGroup
	begin := make(chan struct{})
	for range 100 {
		wg.Go(func() {
			<-begin
			if tok, err := m.src.Get(context.Background()); err != nil || tok.AccessToken != "token-1" {
				t.Errorf("Get() = %v, %v; want token-1", tok, err)
			}
		})
	}
	close(begin)
	wg.Wait()
	if got := m.count.reads.Load(); got != 1 {
		t.Errorf("reads = %d, want 1", got)
	}
}

func TestMoto401RereadsOnceAndRetriesOnce(t *testing.T) {
	srv := motoserver.ForTest(t)
	m := newMotoSecret(t, srv, "unauthorized")
	m.rotate(t, "token-1")
	a := newAPI(t, "token-1")
	client := &http.Client{Transport: &tokensecret.Transport{Source: m.src}}

	get := func() int {
		resp, err := client.Get(a.URL)
		if err != nil {
			t.Fatalf("Get() error = %v", err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := get(); got != http.StatusOK {
		t.Fatalf("first call status = %d, want 200", got)
	}
	// The token is replaced and the API stops taking the old one.
	m.clock.Advance(time.Hour)
	m.rotate(t, "token-2")
	a.setAccept("token-2")

	if got := get(); got != http.StatusOK {
		t.Errorf("status after the 401 = %d, want 200", got)
	}
	hits, _, keys := a.stats()
	if reads := m.count.reads.Load(); reads != 2 || hits != 3 {
		t.Errorf("secret reads, API hits = %d, %d; want 2 (one re-read), 3 (one retry)", reads, hits)
	}
	for i, k := range keys {
		if k != "client-1" {
			t.Errorf("request %d x-api-key = %q, want client-1", i, k)
		}
	}
}

func TestMotoFailureWhileCachedTokenValid(t *testing.T) {
	srv := motoserver.ForTest(t)
	m := newMotoSecret(t, srv, "failing")
	m.rotate(t, "token-1")
	ctx := t.Context()
	if _, err := m.src.Get(ctx); err != nil {
		t.Fatal(err)
	}

	// Secrets Manager becomes unreachable: a real client, one attempt, at a
	// port where nothing listens.
	port, err := motoserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	dead := srv.AWSConfig()
	dead.BaseEndpoint = aws.String("http://127.0.0.1:" + strconv.Itoa(port))
	dead.RetryMaxAttempts = 1
	m.count.swap(secretsmanager.NewFromConfig(dead))

	m.clock.Advance(23*time.Hour + 56*time.Minute) // inside the margin: a read is due
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 20 {
				tok, err := m.src.Get(context.Background())
				if err != nil || tok.AccessToken != "token-1" {
					t.Errorf("Get() = %v, %v; want the cached token-1", tok, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := m.count.reads.Load(); got != 2 {
		t.Errorf("reads = %d, want 2 (the failed read is not repeated within the retry interval)", got)
	}

	// Secrets Manager is back before the token expires.
	m.count.swap(m.sm)
	m.rotate(t, "token-2")
	m.clock.Advance(time.Minute)
	if tok, err := m.src.Get(ctx); err != nil || tok.AccessToken != "token-2" {
		t.Errorf("Get() after recovery = %v, %v; want token-2", tok, err)
	}
}

func TestMotoBeforeFirstRotation(t *testing.T) {
	srv := motoserver.ForTest(t)
	m := newMotoSecret(t, srv, "fresh") // created without a value
	if _, err := m.src.Get(t.Context()); !errors.Is(err, tokensecret.ErrNotFound) {
		t.Errorf("Get() with no value error = %v, want ErrNotFound", err)
	}
	if _, err := m.sm.PutSecretValue(t.Context(), &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(m.id), SecretString: aws.String(tokensecrettest.Placeholder),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.src.Get(t.Context()); !errors.Is(err, tokensecret.ErrNoToken) {
		t.Errorf("Get() with the placeholder error = %v, want ErrNoToken", err)
	}
	missing, err := tokensecret.New(tokensecret.Config{SecretID: "no-such-secret", Client: m.sm})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := missing.Get(t.Context()); !errors.Is(err, tokensecret.ErrNotFound) {
		t.Errorf("Get() of a missing secret error = %v, want ErrNotFound", err)
	}
}
