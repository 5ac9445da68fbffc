package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/rie"
)

// fleetStack is the stack name the fleet's secrets are tagged with; the
// token secrets are named integration.TokenSecretName(fleetStack, name).
const fleetStack = "bench-fleet"

// X-Amz-Target values the fleet table counts besides faultproxy's own.
const (
	listSecrets    = "secretsmanager.ListSecrets"
	describeSecret = "secretsmanager.DescribeSecret"
)

// fleetEnv is moto_server behind faultproxy, which counts the calls per
// operation, and the IMS emulator, which answers every token request after
// a delay and accepts every client the bench adds.
type fleetEnv struct {
	moto     *motoserver.Server
	sm       *secretsmanager.Client // straight to moto, for seeding
	proxy    *faultproxy.Proxy
	clock    *callClock
	proxySrv *httptest.Server
	ims      *imsemu.Server
	imsSrv   *httptest.Server
}

// startFleetEnv starts moto_server, the proxy and the IMS emulator with
// every token request held for delay. On failure it stops what it started.
func startFleetEnv(ctx context.Context, delay time.Duration) (_ *fleetEnv, err error) {
	e := &fleetEnv{}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	if e.moto, err = motoserver.Start(ctx); err != nil {
		return nil, fmt.Errorf("starting moto_server: %w", err)
	}
	e.sm = secretsmanager.NewFromConfig(e.moto.AWSConfig())
	if e.proxy, err = faultproxy.New(e.moto.Endpoint); err != nil {
		return nil, err
	}
	e.clock = &callClock{next: e.proxy}
	e.proxySrv = httptest.NewServer(e.clock)
	if e.ims, err = imsemu.New(imsemu.Config{}); err != nil {
		return nil, fmt.Errorf("setting up the IMS emulator: %w", err)
	}
	e.ims.SetFault(imsemu.Fault{Name: fmt.Sprintf("answer after %v", delay), Delay: delay})
	e.imsSrv = httptest.NewServer(e.ims)
	return e, nil
}

// functionEnv is the environment of a rotator with no integration of its
// own that keeps every integration added under the fleet's prefix.
func (e *fleetEnv) functionEnv() []string {
	return append(e.moto.Env(),
		"AWS_ENDPOINT_URL="+e.proxySrv.URL, // later entries win
		"CREDENTIALS_SECRET_ID=",
		"TOKEN_SECRET_ID=",
		"INTEGRATION_SECRET_PREFIX="+integration.SecretPrefix(fleetStack),
		"TOKEN_URL="+e.imsSrv.URL+imsemu.TokenPath,
		"SCOPE="+scope,
		// Keep the developer's own AWS settings out of the function.
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
	)
}

// seed adds n integrations as make integration-add does, with workers
// goroutines, calling progress after every 100th and the last.
func (e *fleetEnv) seed(ctx context.Context, n, workers int, progress func(done int)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	errs := make(chan error, workers)
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for i := range jobs {
				if err := e.addIntegration(ctx, i); err != nil {
					errs <- err
					cancel()
					return
				}
				mu.Lock()
				if done++; done%100 == 0 || done == n {
					progress(done)
				}
				mu.Unlock()
			}
		})
	}
feed:
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return ctx.Err()
	}
}

// addIntegration registers the i-th client with the IMS emulator and
// creates its credentials secret and its token secret: the placeholder {},
// tagged with the credentials secret's ARN.
func (e *fleetEnv) addIntegration(ctx context.Context, i int) error {
	name := fmt.Sprintf("fleet-%04d", i+1)
	client, secret := "bench-"+name, randomSecret()
	if err := e.ims.SetClient(client, imsemu.Client{Secrets: []string{secret}}); err != nil {
		return err
	}
	creds, err := json.Marshal(map[string]string{"client_id": client, "client_secret": secret})
	if err != nil {
		return fmt.Errorf("encoding the credentials of %s: %w", name, err)
	}
	credsName := fleetStack + "/credentials/" + name
	out, err := e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(credsName),
		SecretString: aws.String(string(creds)),
		Tags:         []types.Tag{tag(integration.TagStack, fleetStack)},
	})
	if err != nil {
		return fmt.Errorf("creating secret %s: %w", credsName, err)
	}
	tokenName := integration.TokenSecretName(fleetStack, name)
	if _, err := e.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:         aws.String(tokenName),
		SecretString: aws.String("{}"),
		Tags: []types.Tag{
			tag(integration.TagStack, fleetStack),
			tag(integration.TagIntegration, name),
			tag(integration.TagCredentials, aws.ToString(out.ARN)),
		},
	}); err != nil {
		return fmt.Errorf("creating secret %s: %w", tokenName, err)
	}
	return nil
}

func tag(k, v string) types.Tag { return types.Tag{Key: aws.String(k), Value: aws.String(v)} }

// tick runs one normal run ({}) of emu and returns what it took and what
// the proxy and the token endpoint saw meanwhile.
func (e *fleetEnv) tick(ctx context.Context, emu *rie.Emulator) (Tick, error) {
	e.proxy.ResetCounters()
	e.clock.take()
	tokens0 := e.ims.Requests()
	start := time.Now()
	res, err := invokeFleet(ctx, emu)
	wall := time.Since(start)
	if err != nil {
		return Tick{}, err
	}
	writes, took := e.clock.take()
	return Tick{
		Wall: wall,
		Calls: SMCalls{
			Get:      e.proxy.Calls(faultproxy.GetSecretValue),
			Describe: e.proxy.Calls(describeSecret),
			List:     e.proxy.Calls(listSecrets),
			Put:      e.proxy.Calls(faultproxy.PutSecretValue),
			All:      e.proxy.Calls(""),
		},
		Tokens:             e.ims.Requests() - tokens0,
		Rotated:            res.Counts.Rotated,
		Fresh:              res.Counts.Fresh,
		Failed:             res.Counts.Failed,
		MaxWritesPerSecond: MaxInWindow(writes, time.Second),
		SMLatency:          median(took),
	}, nil
}

// Close stops everything startFleetEnv started. It is safe to call twice.
func (e *fleetEnv) Close() {
	if e.ims != nil {
		e.ims.Close()
	}
	if e.imsSrv != nil {
		e.imsSrv.Close()
	}
	if e.proxy != nil {
		e.proxy.Close()
	}
	if e.proxySrv != nil {
		e.proxySrv.Close()
	}
	if e.moto != nil {
		e.moto.Close()
	}
}

// callClock notes when each PutSecretValue reaches the handler it wraps,
// and how long each call takes to answer. It is safe for concurrent use.
type callClock struct {
	next   http.Handler
	mu     sync.Mutex
	writes []time.Time
	took   []time.Duration
}

func (c *callClock) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	c.next.ServeHTTP(w, r)
	took := time.Since(start)
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.Header.Get("X-Amz-Target") == faultproxy.PutSecretValue {
		c.writes = append(c.writes, start)
	}
	c.took = append(c.took, took)
}

// take returns what was noted so far, and forgets it: the arrival of each
// PutSecretValue and the duration of every call.
func (c *callClock) take() (writes []time.Time, took []time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	writes, took = c.writes, c.took
	c.writes, c.took = nil, nil
	return writes, took
}
