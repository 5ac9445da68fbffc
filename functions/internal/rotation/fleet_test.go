package rotation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

// fleetStore is a Store of many secrets, by id, safe for concurrent use.
type fleetStore struct {
	mu     sync.Mutex
	creds  map[string]secretstore.Credentials
	tokens map[string]secretstore.Current
	writes map[string]int
	reads  map[string]int // credentials reads, by id
}

func newFleetStore() *fleetStore {
	return &fleetStore{creds: map[string]secretstore.Credentials{}, tokens: map[string]secretstore.Current{}, writes: map[string]int{},
		reads: map[string]int{}}
}

func (f *fleetStore) ReadCredentials(_ context.Context, id string) (secretstore.Credentials, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads[id]++
	c, ok := f.creds[id]
	if !ok {
		return secretstore.Credentials{}, fmt.Errorf("reading credentials secret %q: ResourceNotFoundException", id)
	}
	return c, nil
}

func (f *fleetStore) ReadToken(_ context.Context, id string) (secretstore.Current, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.tokens[id]; ok {
		return c, nil
	}
	return secretstore.Current{Problem: "the token secret has no value yet"}, nil
}

func (f *fleetStore) WriteToken(_ context.Context, id string, v secretstore.TokenValue) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes[id]++
	version := fmt.Sprintf("%s-v%d", id, f.writes[id])
	f.tokens[id] = secretstore.Current{Value: v, VersionID: version}
	return version, nil
}

// fakeDirectory lists fixed entries, or fails.
type fakeDirectory struct {
	entries []secretstore.Entry
	err     error
	lookups []string
	mu      sync.Mutex
}

func (d *fakeDirectory) List(context.Context, string) ([]secretstore.Entry, error) {
	return d.entries, d.err
}
func (d *fakeDirectory) Lookup(_ context.Context, prefix, name string) (secretstore.Entry, error) {
	d.mu.Lock()
	d.lookups = append(d.lookups, name)
	d.mu.Unlock()
	for _, e := range d.entries {
		if e.Name == name {
			return e, nil
		}
	}
	return secretstore.Entry{}, fmt.Errorf("integration %q: there is no token secret %q", name, prefix+name)
}

// urlFetcher answers by token URL: a token, an error, or a panic, and
// records the providers it was built for and the most requests in flight.
type urlFetcher struct {
	fail     map[string]error
	panics   map[string]bool
	hold     time.Duration
	inFlight atomic.Int32
	maxSeen  atomic.Int32
	calls    atomic.Int32
}

func (u *urlFetcher) forProvider(p config.Provider) Fetcher { return providerFetcher{u, p} }

type providerFetcher struct {
	u *urlFetcher
	p config.Provider
}

func (f providerFetcher) Fetch(context.Context, oauthtoken.Credentials) (oauthtoken.Token, error) {
	u := f.u
	u.calls.Add(1)
	n := u.inFlight.Add(1)
	defer u.inFlight.Add(-1)
	for {
		m := u.maxSeen.Load()
		if n <= m || u.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	time.Sleep(u.hold)
	if u.panics[f.p.TokenURL] {
		panic("provider fetcher blew up")
	}
	if err := u.fail[f.p.TokenURL]; err != nil {
		return oauthtoken.Token{}, err
	}
	return oauthtoken.Token{AccessToken: sentinelToken, TokenType: "bearer", IssuedAt: now, Expiry: now.Add(time.Hour)}, nil
}

// recordingMetrics keeps every integration line and the run line.
type recordingMetrics struct {
	mu           sync.Mutex
	integrations map[string]metrics.Outcome
	runs         []metrics.Summary
}

func (m *recordingMetrics) Integration(name string, o metrics.Outcome) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.integrations == nil {
		m.integrations = map[string]metrics.Outcome{}
	}
	m.integrations[name] = o
}
func (m *recordingMetrics) TokenRequest(string, time.Duration, int) {}
func (m *recordingMetrics) ClientSecretExpiry(string, time.Time)    {}
func (m *recordingMetrics) Run(s metrics.Summary) {
	m.mu.Lock()
	m.runs = append(m.runs, s)
	m.mu.Unlock()
}

// fleet builds a Rotator over the function's own integration "default" and
// n added ones, "app-00" ..., each with credentials "creds-NN" whose
// token_url is https://provider-NN.example/token.
func fleet(n int, fetcher *urlFetcher) (*Rotator, *fleetStore, *fakeDirectory, *recordingMetrics, *bytes.Buffer) {
	store, dir, m := newFleetStore(), &fakeDirectory{}, &recordingMetrics{}
	store.creds["creds"] = secretstore.Credentials{Credentials: oauthtoken.Credentials{ClientID: "own", ClientSecret: sentinelSecret}}
	for i := range n {
		name := fmt.Sprintf("app-%02d", i)
		store.creds[fmt.Sprintf("creds-%02d", i)] = secretstore.Credentials{
			Credentials: oauthtoken.Credentials{ClientID: "client-" + name, ClientSecret: sentinelSecret},
			Fields:      map[string]json.RawMessage{"token_url": json.RawMessage(fmt.Sprintf(`"https://provider-%02d.example/token"`, i))},
		}
		dir.entries = append(dir.entries, secretstore.Entry{Name: name, TokenSecretID: "p/" + name, CredentialsSecretID: fmt.Sprintf("creds-%02d", i)})
	}
	var logs bytes.Buffer
	r := New(Config{
		Settings: config.Config{Integration: "default", CredentialsSecretID: "creds", TokenSecretID: "token", IntegrationSecretPrefix: "p/",
			Provider: config.Provider{TokenURL: "https://own.example/token", Scope: "s", TokenAuth: config.AuthBody, MinTokenAge: time.Hour}},
		Store: store, Directory: dir, Fetchers: fetcher.forProvider, Metrics: m,
		Concurrency: 4, WriteRate: 1000, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs}, nil)),
	})
	return r, store, dir, m, &logs
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestRunIsolatesEachIntegrationsFailure(t *testing.T) {
	fetcher := &urlFetcher{
		fail:   map[string]error{"https://provider-02.example/token": &oauthtoken.Error{StatusCode: 401, Code: "invalid_client", Reason: "refused"}},
		panics: map[string]bool{"https://provider-05.example/token": true},
	}
	r, store, dir, m, logs := fleet(8, fetcher)
	dir.entries[6].Problem = "token secret \"p/app-06\" has no tokenrotator:credentials tag"
	delete(store.creds, "creds-07")

	res, err := r.Run(context.Background(), Request{})
	if err == nil {
		t.Fatal("Run() error = nil, want one naming the failed integrations")
	}
	for _, name := range []string{"app-02", "app-05", "app-06", "app-07"} {
		if !strings.Contains(err.Error(), name+": ") {
			t.Errorf("Run() error = %v, want it to name %s", err, name)
		}
	}
	if !strings.HasPrefix(err.Error(), "4 of 9 integrations failed (5 rotated, 0 fresh;") {
		t.Errorf("Run() error = %v, want it to start with the counts", err)
	}
	if *res.Counts != (Counts{Rotated: 5, Failed: 4}) || len(res.Integrations) != 9 || !res.Rotated {
		t.Fatalf("Run() = %+v, want 5 rotated and 4 failed of 9", res)
	}
	for _, one := range res.Integrations {
		failed := map[string]bool{"app-02": true, "app-05": true, "app-06": true, "app-07": true}[one.Integration]
		if failed != (one.Error != "") || failed == one.Rotated {
			t.Errorf("result of %s = %+v, want failed %v", one.Integration, one, failed)
		}
		if writes := store.writes[one.TokenSecretID]; writes != map[bool]int{true: 0, false: 1}[failed] {
			t.Errorf("%s: writes = %d, want %d", one.Integration, writes, map[bool]int{true: 0, false: 1}[failed])
		}
		if o, ok := m.integrations[one.Integration]; !ok || o.Failed != failed {
			t.Errorf("%s: metrics outcome = %+v (%v), want Failed %v", one.Integration, o, ok, failed)
		}
	}
	if len(m.runs) != 1 || m.runs[0].Failed != 4 || m.runs[0].Integrations != 9 || m.runs[0].Rotated != 5 {
		t.Errorf("run metrics = %+v, want one summary of 9 with 5 rotated, 4 failed", m.runs)
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, `"token_secret_id"`) && !strings.Contains(line, `"integration":"`) {
			t.Errorf("log line about an integration without its name: %s", line)
		}
	}
	noLeak(t, logs.String(), err.Error(), fmt.Sprintf("%+v", res))

	// The next normal run fetches only for the integrations that failed.
	fetcher.fail, fetcher.panics = nil, nil
	store.creds["creds-07"] = store.creds["creds-06"]
	before := fetcher.calls.Load()
	res, err = r.Run(context.Background(), Request{})
	if got := fetcher.calls.Load() - before; got != 3 {
		t.Errorf("second run fetched %d tokens, want 3 (app-02, app-05, app-07; app-06 still has no tag)", got)
	}
	if err == nil || !strings.Contains(err.Error(), "app-06: ") || strings.Contains(err.Error(), "app-02") {
		t.Errorf("second run error = %v, want only app-06 named", err)
	}
	if *res.Counts != (Counts{Rotated: 3, Fresh: 5, Failed: 1}) {
		t.Errorf("second run counts = %+v, want 3 rotated, 5 fresh, 1 failed", *res.Counts)
	}
}

func TestRunBoundsConcurrency(t *testing.T) {
	fetcher := &urlFetcher{hold: 20 * time.Millisecond}
	r, _, _, _, _ := fleet(20, fetcher)
	if _, err := r.Run(context.Background(), Request{Force: true}); err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	if got := fetcher.maxSeen.Load(); got > 4 || got < 2 {
		t.Errorf("most token requests in flight = %d, want 2 to 4 (Concurrency 4)", got)
	}
	if got := fetcher.calls.Load(); got != 21 {
		t.Errorf("token requests = %d, want 21 (forced)", got)
	}
}

func TestRunOneIntegration(t *testing.T) {
	fetcher := &urlFetcher{}
	r, store, dir, _, _ := fleet(3, fetcher)
	res, err := r.Run(context.Background(), Request{Force: true, Integration: "app-01"})
	if err != nil || res.Integration != "app-01" || !res.Rotated || len(res.Integrations) != 1 {
		t.Fatalf("Run(app-01) = %+v, %v; want app-01 rotated alone", res, err)
	}
	if len(dir.lookups) != 1 || store.writes["p/app-01"] != 1 || store.writes["token"] != 0 || store.writes["p/app-00"] != 0 {
		t.Errorf("lookups %v, writes %v; want one lookup and one write, to app-01", dir.lookups, store.writes)
	}
	res, err = r.Run(context.Background(), Request{Force: true, Integration: "default"})
	if err != nil || res.Integration != "default" || store.writes["token"] != 1 || len(dir.lookups) != 1 {
		t.Errorf("Run(default) = %+v, %v, lookups %v; want the own integration without a lookup", res, err, dir.lookups)
	}
	if _, err := r.Run(context.Background(), Request{Integration: "nope"}); err == nil || !strings.Contains(err.Error(), `integration "nope": there is no token secret`) {
		t.Errorf("Run(nope) error = %v, want no such integration", err)
	}
	r.cfg.Settings.IntegrationSecretPrefix = ""
	if _, err := r.Run(context.Background(), Request{Integration: "app-01"}); err == nil || !strings.Contains(err.Error(), "INTEGRATION_SECRET_PREFIX is not set") {
		t.Errorf("Run(app-01) without a prefix: error = %v, want it to say the function keeps only its own", err)
	}
}

func TestRunListFailureStillRunsTheOwnIntegration(t *testing.T) {
	r, store, dir, m, _ := fleet(2, &urlFetcher{})
	dir.err = errors.New("listing the token secrets named \"p/*\": AccessDeniedException")
	res, err := r.Run(context.Background(), Request{})
	if err == nil || !strings.Contains(err.Error(), "finding the added integrations failed, so they were not run: listing") {
		t.Fatalf("Run() error = %v, want the listing failure", err)
	}
	if store.writes["token"] != 1 || len(res.Integrations) != 1 || res.Counts.Rotated != 1 {
		t.Errorf("Run() = %+v, writes %v; want the own integration rotated", res, store.writes)
	}
	if len(m.runs) != 1 || m.runs[0].Failed != 1 {
		t.Errorf("run metrics = %+v, want the listing counted as a failure", m.runs)
	}
}

func TestRunRefusesAnAddedIntegrationNamedLikeTheOwn(t *testing.T) {
	r, store, dir, _, _ := fleet(1, &urlFetcher{})
	dir.entries[0].Name = "default"
	_, err := r.Run(context.Background(), Request{})
	if err == nil || !strings.Contains(err.Error(), `the name is taken by the function's own integration`) {
		t.Fatalf("Run() error = %v, want the clash named", err)
	}
	if store.writes["token"] != 1 || store.writes["p/app-00"] != 0 {
		t.Errorf("writes = %v, want only the own integration's", store.writes)
	}
}

func TestSettingsComeFromTheCredentialsSecret(t *testing.T) {
	fetcher := &urlFetcher{}
	var providers []config.Provider
	var mu sync.Mutex
	r, store, _, _, _ := fleet(1, fetcher)
	r.cfg.Fetchers = func(p config.Provider) Fetcher {
		mu.Lock()
		providers = append(providers, p)
		mu.Unlock()
		return fetcher.forProvider(p)
	}
	c := store.creds["creds-00"]
	c.Fields["scope"] = json.RawMessage(`"api.read"`)
	c.Fields["token_params"] = json.RawMessage(`"audience=https://api.example/"`)
	if _, err := r.Run(context.Background(), Request{Integration: "app-00"}); err != nil {
		t.Fatalf("Run() error = %v", err)
	}
	want := config.Provider{TokenURL: "https://provider-00.example/token", Scope: "api.read", TokenAuth: config.AuthBody,
		MinTokenAge: time.Hour, TokenParams: "audience=https%3A%2F%2Fapi.example%2F"}
	if len(providers) != 1 || providers[0] != want {
		t.Errorf("provider settings = %+v, want %+v", providers, want)
	}
	if v := store.tokens["p/app-00"].Value; v.Scope != "api.read" || v.TokenParams != want.TokenParams {
		t.Errorf("stored = %v, want the integration's scope and params", v)
	}

	c.Fields["token_url"] = json.RawMessage(`"http://evil.example/token"`)
	_, err := r.Run(context.Background(), Request{Force: true, Integration: "app-00"})
	if err == nil || !strings.Contains(err.Error(), `credentials secret "creds-00": field "token_url" (TOKEN_URL for this integration)`) {
		t.Errorf("Run() with a plain-http token_url: error = %v, want the field named", err)
	}
}

func TestSpreadIsFixedByNameAndBounded(t *testing.T) {
	seen := map[float64]bool{}
	for i := range 200 {
		name := fmt.Sprintf("org-%d", i)
		s := spread(name)
		if s < 0 || s >= 1.0/SpreadShare {
			t.Fatalf("spread(%s) = %v, want [0, %v)", name, s, 1.0/SpreadShare)
		}
		if spread(name) != s {
			t.Fatalf("spread(%s) changed between calls", name)
		}
		seen[s] = true
	}
	if len(seen) < 150 {
		t.Errorf("200 names gave %d distinct spreads, want them spread out", len(seen))
	}
	// A spread makes a token due sooner, never later.
	v := secretstore.TokenValue{AccessToken: "a", TokenType: "bearer", IssuedAt: now.Add(-50 * time.Minute), Expiry: now.Add(23 * time.Hour), ClientID: "c"}
	want := Want{ClientID: "c", MinTokenAge: time.Hour}
	if d := Decide(secretstore.Current{Value: v}, want, now, false); d.Refresh {
		t.Errorf("Decide(50 min old, no spread) = %+v, want fresh", d)
	}
	want.Spread = 0.2 // due from 48 min on
	if d := Decide(secretstore.Current{Value: v}, want, now, false); !d.Refresh || !strings.Contains(d.Reason, "20.0% early") {
		t.Errorf("Decide(50 min old, spread 0.2) = %+v, want due, saying why", d)
	}
}

func TestPacerSpacesSlots(t *testing.T) {
	p := newPacer(200) // one slot per 5 ms
	start := time.Now()
	var wg sync.WaitGroup
	for range 21 {
		wg.Add(1)
		go func() { defer wg.Done(); _ = p.wait(context.Background()) }()
	}
	wg.Wait()
	if got := time.Since(start); got < 100*time.Millisecond {
		t.Errorf("21 slots at 200/s took %v, want at least 100ms", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for range 3 {
		if err := p.wait(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("wait(cancelled) = %v, want context.Canceled", err)
		}
	}
}

func TestFetcherLogLinesNameTheIntegration(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"a","token_type":"bearer","expires_in":86399}`)
	}))
	defer srv.Close()
	var buf bytes.Buffer
	fetchers := NewFetchers(oauthtoken.Config{Logger: slog.New(slog.NewJSONHandler(&lockedWriter{w: &buf}, nil)), BaseDelay: time.Millisecond}, Sources{})
	f := fetchers(config.Provider{TokenURL: srv.URL + "/token", TokenAuth: config.AuthBody})
	if f != fetchers(config.Provider{TokenURL: srv.URL + "/token", TokenAuth: config.AuthBody}) {
		t.Error("NewFetchers built two Fetchers for the same settings, want one reused")
	}
	ctx, cancel := context.WithTimeout(withIntegration(context.Background(), "acme"), 10*time.Second)
	defer cancel()
	if _, err := f.Fetch(ctx, oauthtoken.Credentials{ClientID: "c", ClientSecret: sentinelSecret}); err != nil {
		t.Fatalf("Fetch() error = %v", err)
	}
	if !strings.Contains(buf.String(), `"msg":"token request failed, retrying"`) || !strings.Contains(buf.String(), `"integration":"acme"`) {
		t.Errorf("fetcher log = %s, want its retry line to name the integration", buf.String())
	}
}

func TestSharedCredentialsAreRefused(t *testing.T) {
	fetcher := &urlFetcher{}
	r, store, dir, _, _ := fleet(3, fetcher)
	// A token secret planted under the prefix, naming app-01's credentials.
	dir.entries = append(dir.entries, secretstore.Entry{Name: "planted", TokenSecretID: "p/planted", CredentialsSecretID: "creds-01"})
	res, err := r.Run(context.Background(), Request{Force: true})
	if err == nil || !strings.Contains(err.Error(), `credentials secret "creds-01" backs integrations app-01, planted`) {
		t.Fatalf("Run() error = %v, want the shared credentials named", err)
	}
	if *res.Counts != (Counts{Rotated: 3, Failed: 2}) || store.writes["p/planted"] != 0 || store.writes["p/app-01"] != 0 {
		t.Errorf("Run() counts %+v, writes %v; want app-01 and planted refused, nothing written for them", *res.Counts, store.writes)
	}
	// Asked for by name, the planted one is checked against the others too.
	_, err = r.Run(context.Background(), Request{Force: true, Integration: "planted"})
	if err == nil || !strings.Contains(err.Error(), "backs integrations") || store.writes["p/planted"] != 0 {
		t.Errorf("Run(planted) error = %v, writes %v; want it refused", err, store.writes)
	}
	dir.err = errors.New("AccessDeniedException")
	if _, err := r.Run(context.Background(), Request{Force: true, Integration: "app-00"}); err == nil || !strings.Contains(err.Error(), "checking that no other integration shares its credentials secret") {
		t.Errorf("Run(app-00) when listing fails: error = %v, want it to fail closed", err)
	}
}

// TestOwnCredentialsAreLentToNoAddedIntegration: an added integration whose
// tag names the function's own credentials secret, however spelt, is
// refused, and the function's own integration still runs: its token must
// not go to a token secret someone planted under the prefix.
func TestOwnCredentialsAreLentToNoAddedIntegration(t *testing.T) {
	const ownARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:creds-AbCdEf"
	const elsewhere = "arn:aws:secretsmanager:eu-west-1:210987654321:secret:creds-XyZ123" // the same name, another account
	for _, tc := range []struct {
		name, tag string
	}{
		{"the tag holds the ARN, CREDENTIALS_SECRET_ID the name", ownARN},
		{"the tag and CREDENTIALS_SECRET_ID spell it alike", "creds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, store, dir, _, _ := fleet(2, &urlFetcher{})
			own := store.creds["creds"]
			own.ARN = ownARN // as GetSecretValue answers, whatever id it was read by
			store.creds["creds"], store.creds[ownARN] = own, own
			dir.entries = append(dir.entries, secretstore.Entry{Name: "planted", TokenSecretID: "p/planted", CredentialsSecretID: tc.tag})
			want := `credentials secret "` + tc.tag + `" is the function's own integration's (default, CREDENTIALS_SECRET_ID)`

			res, err := r.Run(context.Background(), Request{Force: true})
			if err == nil || !strings.Contains(err.Error(), "planted: "+want) {
				t.Fatalf("Run() error = %v, want planted refused with %q", err, want)
			}
			if *res.Counts != (Counts{Rotated: 3, Failed: 1}) || store.writes["p/planted"] != 0 || store.writes["token"] != 1 {
				t.Errorf("Run() counts %+v, writes %v; want default and both apps rotated, planted refused and not written", *res.Counts, store.writes)
			}
			if store.reads["creds"] != 1 {
				t.Errorf("the own credentials were read %d times in a run, want once: the read that tells the ARN serves the run", store.reads["creds"])
			}
			// Asked for alone, as a forced run or createSecret does.
			if _, err := r.Run(context.Background(), Request{Force: true, Integration: "planted"}); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Run(planted) error = %v, want %q", err, want)
			}
			if store.writes["p/planted"] != 0 {
				t.Errorf("writes %v; want none to p/planted", store.writes)
			}
		})
	}
	t.Run("a secret of the same name in another account", func(t *testing.T) {
		r, store, dir, _, _ := fleet(2, &urlFetcher{})
		own := store.creds["creds"]
		own.ARN = ownARN
		store.creds["creds"] = own
		store.creds[elsewhere] = secretstore.Credentials{Credentials: oauthtoken.Credentials{ClientID: "other", ClientSecret: sentinelSecret}, ARN: elsewhere}
		dir.entries = append(dir.entries, secretstore.Entry{Name: "other", TokenSecretID: "p/other", CredentialsSecretID: elsewhere})
		res, err := r.Run(context.Background(), Request{Force: true})
		if err != nil || res.Counts.Rotated != 4 || store.writes["p/other"] != 1 {
			t.Errorf("Run() = %+v, %v; want all 4 rotated: the read tells the two secrets apart", res.Counts, err)
		}
	})
	t.Run("the own credentials unreadable: a tag that may name them is refused", func(t *testing.T) {
		r, store, dir, _, logs := fleet(2, &urlFetcher{})
		delete(store.creds, "creds")
		store.creds[ownARN] = secretstore.Credentials{Credentials: oauthtoken.Credentials{ClientID: "own", ClientSecret: sentinelSecret}, ARN: ownARN}
		dir.entries = append(dir.entries, secretstore.Entry{Name: "planted", TokenSecretID: "p/planted", CredentialsSecretID: ownARN})
		res, err := r.Run(context.Background(), Request{Force: true})
		if err == nil || !strings.Contains(err.Error(), "planted: credentials secret") || store.writes["p/planted"] != 0 {
			t.Errorf("Run() = %+v, %v, writes %v; want planted refused", res.Counts, err, store.writes)
		}
		if !strings.Contains(logs.String(), "could not learn the ARN of the function's own credentials secret") {
			t.Errorf("log lacks the warning:\n%s", logs)
		}
	})
	t.Run("no added integration can be the own one: no extra read", func(t *testing.T) {
		r, store, _, _, _ := fleet(2, &urlFetcher{})
		if _, err := r.Run(context.Background(), Request{Force: true}); err != nil {
			t.Fatal(err)
		}
		if store.reads["creds"] != 1 {
			t.Errorf("the own credentials were read %d times in a run, want once", store.reads["creds"])
		}
	})
}
