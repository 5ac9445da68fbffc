package rotation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/infra/bench"
	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
)

// fleetSize is 1,000, or 200 under the race detector (see raceEnabled).
var fleetSize = map[bool]int{false: 1000, true: 200}[raceEnabled]

const (
	fleetPrefix = "fleet/integrations/"
	// fleetSecret is every fleet client's secret, a sentinel: it must appear
	// in no log line, metric, error or result.
	fleetSecret = "SENTINEL-fleet-client-secret-7a11"
)

// writeLog records when each PutSecretValue reached the fault proxy.
type writeLog struct {
	mu    sync.Mutex
	times []time.Time
}

func (w *writeLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") == faultproxy.PutSecretValue {
			w.mu.Lock()
			w.times = append(w.times, time.Now())
			w.mu.Unlock()
		}
		next.ServeHTTP(rw, r)
	})
}

// maxPerSecond is the most writes in any one-second window.
func (w *writeLog) maxPerSecond() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bench.MaxInWindow(w.times, time.Second)
}

func (w *writeLog) reset() { w.mu.Lock(); w.times = nil; w.mu.Unlock() }

// TestFleetOf1000 runs 1,000 added integrations (200 under the race detector) in one invocation against
// moto_server (behind the fault proxy, which sees every write) and the
// emulator: 990 rotate, the 10 made faulty in ten different ways fail by
// name with nothing written for them, writes stay at the designed pace,
// and the next tick asks the provider only for the failed ones.
func TestFleetOf1000(t *testing.T) {
	if testing.Short() {
		t.Skip("the 1,000-integration fleet takes about 40 s")
	}
	ctx := context.Background()
	moto := motoserver.ForTest(t)
	proxy, err := faultproxy.New(moto.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	writes := &writeLog{}
	proxySrv := httptest.NewServer(writes.wrap(proxy))
	t.Cleanup(proxySrv.Close)
	awsCfg := moto.AWSConfig()
	direct := secretsmanager.NewFromConfig(awsCfg)
	awsCfg.BaseEndpoint = aws.String(proxySrv.URL)
	sm := secretsmanager.NewFromConfig(awsCfg)

	clients := map[string]imsemu.Client{}
	for i := range fleetSize {
		clients[fmt.Sprintf("client-%04d", i)] = imsemu.Client{Secrets: []string{fleetSecret}, Scopes: []string{"openid", "AdobeID", "read_organizations"}}
	}
	ims, err := imsemu.New(imsemu.Config{Clients: clients})
	if err != nil {
		t.Fatal(err)
	}
	imsSrv := httptest.NewServer(ims)
	t.Cleanup(imsSrv.Close)
	t.Cleanup(ims.Close)
	down, err := imsemu.New(imsemu.Config{Clients: clients}) // a provider that is down
	if err != nil {
		t.Fatal(err)
	}
	down.SetFault(imsemu.Status(http.StatusServiceUnavailable, ""))
	downSrv := httptest.NewServer(down)
	t.Cleanup(downSrv.Close)
	t.Cleanup(down.Close)
	// A token URL planted in a tag: never read, never called.
	planted := &countingHandler{}
	plantedSrv := httptest.NewServer(planted)
	t.Cleanup(plantedSrv.Close)

	f := seedFleet(t, direct, imsSrv.URL+ims.Path(), downSrv.URL+down.Path(), plantedSrv.URL+"/token")

	logs := &syncbuf.Buffer{}
	metricLines := &syncbuf.Buffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	cfg, err := config.Load(func(k string) string {
		return map[string]string{config.EnvIntegrationSecretPrefix: fleetPrefix, config.EnvTokenURL: imsSrv.URL + ims.Path()}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	// newRotator wires one container's rotator: two of them model two
	// overlapping invocations, each with its own pacer.
	newRotator := func() *rotation.Rotator {
		return rotation.New(rotation.Config{
			Settings:           cfg,
			Store:              secretstore.New(sm),
			Directory:          secretstore.NewDirectory(sm),
			Fetchers:           rotation.NewFetchers(oauthtoken.Config{Logger: log, MaxAttempts: 3, BaseDelay: 50 * time.Millisecond}, rotation.Sources{}),
			Metrics:            metrics.Emitter{W: metricLines, FunctionName: "fleet-fn"},
			IntegrationTimeout: 10 * time.Second,
			Logger:             log,
		})
	}
	r := newRotator()
	// Access denied on one credentials secret, a write refused for one
	// token secret: faults at Secrets Manager, aimed at one integration.
	proxy.Inject(faultproxy.Rule{Target: faultproxy.GetSecretValue, SecretID: f.credsARN["org-0004"], Fault: faultproxy.AccessDenied()})
	proxy.Inject(faultproxy.Rule{Target: faultproxy.PutSecretValue, SecretID: f.tokenARN["org-0005"], Fault: faultproxy.AccessDenied()})

	invoke := func() (rotation.Result, time.Duration, error) {
		ctx, cancel := context.WithTimeout(ctx, 120*time.Second) // the function's timeout
		defer cancel()
		start := time.Now()
		res, err := r.Handle(ctx, json.RawMessage(scheduled))
		return res, time.Since(start), err
	}

	proxy.ResetCounters()
	res, took, runErr := invoke()
	t.Logf("tick 1: %d integrations in %s: %+v", fleetSize, took.Round(time.Millisecond), *res.Counts)
	if runErr == nil {
		t.Fatal("tick 1: error = nil, want one naming the 10 faulty integrations")
	}
	if want := (rotation.Counts{Rotated: fleetSize - len(f.faulty), Failed: len(f.faulty)}); res.Counts == nil || *res.Counts != want || len(res.Integrations) != fleetSize {
		t.Fatalf("tick 1: counts %+v of %d, want %+v of %d", res.Counts, len(res.Integrations), want, fleetSize)
	}
	checkFailedByName(t, "tick 1", res, runErr, f.faulty)
	most := writes.maxPerSecond()
	t.Logf("tick 1: %d writes, at most %d in one second", len(writes.times), most)
	if most > rotation.WriteCeiling {
		t.Errorf("tick 1: %d writes in one second, want at most %d (the designed ceiling)", most, rotation.WriteCeiling)
	}
	if n := proxy.Calls(faultproxy.PutSecretValue); n != fleetSize-len(f.faulty)+1 { // org-0005's refused write
		t.Errorf("tick 1: PutSecretValue calls = %d, want %d", n, fleetSize-len(f.faulty)+1)
	}
	reads := proxy.Calls(faultproxy.GetSecretValue) + proxy.Calls("secretsmanager.ListSecrets")
	t.Logf("tick 1: %d reads (%d ListSecrets pages) = %.2f per integration", reads, proxy.Calls("secretsmanager.ListSecrets"), float64(reads)/float64(fleetSize))
	if reads > 2*fleetSize+fleetSize/100+1 {
		t.Errorf("tick 1: %d reads, want at most 2 per integration plus one ListSecrets page per 100", reads)
	}
	f.checkStored(t, direct, ims)
	for _, one := range res.Integrations {
		if one.Integration == f.malformed && (!one.Rotated || !strings.Contains(one.Reason, "format")) {
			t.Errorf("tick 1: %s, whose stored value was malformed: %+v, want it replaced, saying why", f.malformed, one)
		}
	}
	if n := planted.calls(); n != 0 {
		t.Errorf("the token URL planted in tags was called %d times, want never", n)
	}
	if strings.Count(metricLines.String(), `"Integration":"`) != fleetSize {
		t.Errorf("metric lines with an Integration dimension = %d, want %d", strings.Count(metricLines.String(), `"Integration":"`), fleetSize)
	}
	noFleetLeak(t, ims, logs.String(), metricLines.String(), runErr.Error(), mustJSON(t, res))
	checkLogLinesNameTheirIntegration(t, logs.String())

	// Tick 2: fix the two Secrets Manager faults; the eight others stay.
	// Only the ten are tried again, and only the two fixed ones rotate.
	proxy.Clear()
	proxy.ResetCounters()
	writes.reset()
	issuedBefore, downBefore := len(ims.Issued()), down.Requests()
	res, took, runErr = invoke()
	t.Logf("tick 2: %s: %+v", took.Round(time.Millisecond), *res.Counts)
	if want := (rotation.Counts{Rotated: 2, Fresh: fleetSize - len(f.faulty), Failed: len(f.faulty) - 2}); *res.Counts != want {
		t.Errorf("tick 2: counts %+v, want %+v", *res.Counts, want)
	}
	stillFaulty := append(append([]string(nil), f.faulty[:4]...), f.faulty[6:]...)
	checkFailedByName(t, "tick 2", res, runErr, stillFaulty)
	issued := ims.Issued()[issuedBefore:]
	var minted []string
	for _, tok := range issued {
		minted = append(minted, tok.ClientID)
	}
	sort.Strings(minted)
	// org-0004 and org-0005 rotate; org-0006's scope is refused again.
	if want := []string{"client-0004", "client-0005"}; strings.Join(minted, ",") != strings.Join(want, ",") {
		t.Errorf("tick 2: tokens issued for %v, want only %v", minted, want)
	}
	if n := down.Requests() - downBefore; n == 0 {
		t.Errorf("tick 2: the down provider was not asked again, want the failed integration retried")
	}
	if n := proxy.Calls(faultproxy.PutSecretValue); n != 2 {
		t.Errorf("tick 2: PutSecretValue calls = %d, want 2", n)
	}
	reads = proxy.Calls(faultproxy.GetSecretValue) + proxy.Calls("secretsmanager.ListSecrets")
	t.Logf("tick 2: %d reads = %.2f per integration", reads, float64(reads)/float64(fleetSize))
	if reads > 2*fleetSize+fleetSize/100+1 {
		t.Errorf("tick 2: %d reads, want at most 2 per integration plus one ListSecrets page per 100", reads)
	}
	noFleetLeak(t, ims, logs.String(), metricLines.String(), runErr.Error(), mustJSON(t, res))

	// Tick 3: two forced runs of the whole fleet at once, in two
	// containers (reserved concurrency 1 prevents this in AWS; a test can
	// still make it happen). Each integration ends with a valid token of
	// its own client, minted at most once per run; the faulty ones stay
	// untouched.
	issuedBefore = len(ims.Issued())
	var wg sync.WaitGroup
	var overlapErrs [2]error
	for i, rr := range []*rotation.Rotator{r, newRotator()} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, 120*time.Second)
			defer cancel()
			_, overlapErrs[i] = rr.Handle(ctx, json.RawMessage(`{"force": true}`))
		}()
	}
	wg.Wait()
	perClient := map[string]int{}
	for _, tok := range ims.Issued()[issuedBefore:] {
		perClient[tok.ClientID]++
	}
	for _, err := range overlapErrs {
		for _, name := range stillFaulty {
			if err == nil || !strings.Contains(err.Error(), name+": ") {
				t.Errorf("tick 3: an overlapping run's error = %v, want it to name %s", err, name)
			}
		}
	}
	for client, n := range perClient {
		if n > 2 {
			t.Errorf("tick 3: %d tokens minted for %s by two overlapping runs, want at most 2", n, client)
		}
	}
	t.Logf("tick 3: two overlapping forced runs minted %d tokens for %d clients", len(ims.Issued())-issuedBefore, len(perClient))
	f.faulty = stillFaulty
	f.checkStored(t, direct, ims)
	noFleetLeak(t, ims, logs.String(), metricLines.String(), overlapErrs[0].Error(), overlapErrs[1].Error())
}

// fleet is what seedFleet made.
type fleet struct {
	credsARN, tokenARN map[string]string
	faulty             []string // the names made to fail, sorted
	malformed          string   // a healthy integration whose stored value was garbage
}

// seedFleet creates 1,000 integrations under fleetPrefix, ten of them
// faulty, and returns their ARNs.
func seedFleet(t *testing.T, sm *secretsmanager.Client, tokenURL, downURL, plantedURL string) *fleet {
	t.Helper()
	f := &fleet{credsARN: map[string]string{}, tokenARN: map[string]string{}, malformed: fmt.Sprintf("org-%04d", fleetSize/2)}
	type spec struct {
		name, creds string
		credsTags   []types.Tag
		skipCreds   bool
		tokenTags   func(credsARN string) []types.Tag
		tokenValue  string
	}
	planted := []types.Tag{{Key: aws.String("tokenrotator:token_url"), Value: aws.String(plantedURL)}}
	credsJSON := func(i int, extra string) string {
		return fmt.Sprintf(`{"client_id":"client-%04d","client_secret":%q%s}`, i, fleetSecret, extra)
	}
	std := func(credsARN string) []types.Tag {
		return []types.Tag{{Key: aws.String(integration.TagCredentials), Value: aws.String(credsARN)},
			{Key: aws.String(integration.TagStack), Value: aws.String("fleet")}, planted[0]}
	}
	specs := make([]spec, fleetSize)
	for i := range fleetSize {
		specs[i] = spec{name: fmt.Sprintf("org-%04d", i), creds: credsJSON(i, ""), credsTags: planted, tokenTags: std, tokenValue: "{}"}
	}
	// The ten faults, each a different way to fail.
	specs[0].creds = `{"client_id":"client-0000","client_secret":"wrong-secret"}` // invalid_client
	specs[1].skipCreds = true                                                     // the credentials secret does not exist
	specs[2].tokenTags = func(string) []types.Tag { return planted }              // no credentials tag
	specs[3].creds = `not JSON`                                                   // malformed credentials
	// 4: access denied on its credentials (the proxy); 5: its write refused (the proxy)
	specs[6].creds = credsJSON(6, `,"scope":"openid,admin"`)                      // invalid_scope
	specs[7].creds = credsJSON(7, fmt.Sprintf(`,"token_url":%q`, downURL))        // provider down (503)
	specs[8].creds = credsJSON(8, `,"token_url":"http://provider.example/token"`) // plain http refused
	specs[9].creds = credsJSON(9, `,"token_lifetime":"10m"`)                      // setting out of range
	specs[fleetSize/2].tokenValue = `{"access_token": 42}`                        // malformed stored value: replaced, not a failure
	for i := range 10 {
		f.faulty = append(f.faulty, specs[i].name)
	}

	// One at a time: moto_server 5.2.1 answers concurrent CreateSecret
	// calls with 500 "dictionary changed size during iteration" (a create
	// iterates the secrets while another adds one), and it serves one
	// request at a time anyway. Reads and writes of existing secrets, all a
	// run makes, do not change that dictionary and may overlap.
	ctx := context.Background()
	start := time.Now()
	for i, s := range specs {
		credsARN := "arn:aws:secretsmanager:us-east-1:123456789012:secret:fleet/credentials/" + s.name + "-AbCdEf"
		if !s.skipCreds {
			out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
				Name: aws.String("fleet/credentials/" + s.name), SecretString: aws.String(s.creds), Tags: s.credsTags})
			if err != nil {
				t.Fatalf("seeding %s: %v", s.name, err)
			}
			credsARN = aws.ToString(out.ARN)
		}
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
			Name: aws.String(fleetPrefix + s.name), SecretString: aws.String(s.tokenValue), Tags: s.tokenTags(credsARN)})
		if err != nil {
			t.Fatalf("seeding %s: %v", s.name, err)
		}
		f.credsARN[s.name], f.tokenARN[s.name] = credsARN, aws.ToString(out.ARN)
		if (i+1)%250 == 0 {
			t.Logf("seeded %d of %d integrations (%s)", i+1, fleetSize, time.Since(start).Round(time.Millisecond))
		}
	}
	return f
}

// checkStored holds every token secret to its outcome: a complete token
// issued to its own client for the healthy ones, and the untouched
// placeholder for the faulty ones.
func (f *fleet) checkStored(t *testing.T, sm *secretsmanager.Client, ims *imsemu.Server) {
	t.Helper()
	// The stored token must be one issued to the integration's own client
	// (after overlapping runs, the last written need not be the last issued).
	issued := map[string]map[string]bool{}
	for _, tok := range ims.Issued() {
		if issued[tok.ClientID] == nil {
			issued[tok.ClientID] = map[string]bool{}
		}
		issued[tok.ClientID][tok.AccessToken] = true
	}
	faulty := map[string]bool{}
	for _, n := range f.faulty {
		faulty[n] = true
	}
	for i := range fleetSize {
		name := fmt.Sprintf("org-%04d", i)
		out, err := sm.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(f.tokenARN[name])})
		if err != nil {
			t.Fatalf("GetSecretValue(%s): %v", name, err)
		}
		if faulty[name] {
			if aws.ToString(out.SecretString) != "{}" {
				t.Errorf("%s failed but its token secret changed", name)
			}
			continue
		}
		v, problem := secretstore.ParseToken(aws.ToString(out.SecretString))
		client := fmt.Sprintf("client-%04d", i)
		if problem != "" || v.ClientID != client || !issued[client][v.AccessToken] {
			t.Errorf("%s: stored %v (%s), want the token issued to %s", name, v, problem, client)
		}
	}
}

// checkFailedByName checks that exactly the failed integrations carry an
// error, and that the run's error names each.
func checkFailedByName(t *testing.T, tick string, res rotation.Result, err error, want []string) {
	t.Helper()
	var got []string
	for _, one := range res.Integrations {
		if one.Error != "" {
			got = append(got, one.Integration)
			if !strings.Contains(err.Error(), one.Integration+": ") {
				t.Errorf("%s: the run's error does not name %s", tick, one.Integration)
			}
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s: failed integrations = %v, want %v", tick, got, want)
	}
}

// checkLogLinesNameTheirIntegration: every line about one integration says which.
func checkLogLinesNameTheirIntegration(t *testing.T, logs string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if strings.Contains(line, `"token_secret_id"`) && !strings.Contains(line, `"integration":"org-`) {
			t.Errorf("a log line about an integration does not name it: %.300s", line)
			return
		}
	}
}

func noFleetLeak(t *testing.T, ims *imsemu.Server, texts ...string) {
	t.Helper()
	all := strings.Join(texts, "\n")
	if strings.Contains(all, "SENTINEL-") {
		t.Error("a client secret reached a log line, metric, error or result")
	}
	for _, tok := range ims.Issued() {
		if strings.Contains(all, tok.AccessToken) {
			t.Errorf("an access token (%v) reached a log line, metric, error or result", tok)
			return
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// countingHandler counts requests, answering 500.
type countingHandler struct {
	mu sync.Mutex
	n  int
}

func (c *countingHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	w.WriteHeader(http.StatusInternalServerError)
}

func (c *countingHandler) calls() int { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

// TestBenchKnowsTheWriteCeiling: make bench judges the write pace by its own
// copy of the ceiling, as it cannot import this package's.
func TestBenchKnowsTheWriteCeiling(t *testing.T) {
	if bench.WriteCeiling != rotation.WriteCeiling {
		t.Errorf("bench.WriteCeiling = %d, want rotation.WriteCeiling = %d", bench.WriteCeiling, rotation.WriteCeiling)
	}
}
