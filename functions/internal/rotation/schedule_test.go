package rotation_test

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
	"github.com/tokenrotator/tokenrotator/functions/tokensecret/tokensecrettest"
)

// The simulation's shape: 72 hours in steps of simStep, scheduled runs up
// to tickLate after their time, a consumer read on average every readEvery.
const (
	simLength = 72 * time.Hour
	simStep   = 5 * time.Second
	tickLate  = time.Minute
	readEvery = 30 * time.Second
)

// TestScheduleTable proves each row of the rotator README's schedule table: 72
// simulated hours of the real decision (rotation.Rotator on a normal run),
// the schedule's ticks, each up to a minute late, and a tokensecret.Source
// with its default margin reading at random times, all on one clock. At no
// moment may the stored token have less than the consumer's margin left, and
// the consumer never gets an expired token. The tokens minted per day and the
// least lifetime a read returned must be what that README says.
func TestScheduleTable(t *testing.T) {
	for _, row := range readmeSchedules(t) {
		t.Run(row.schedule+" "+row.minLife.String(), func(t *testing.T) {
			got := simulate(t, row, rand.New(rand.NewPCG(1, uint64(row.minLife))))
			t.Logf("%s", got)
			if got.badRun != "" {
				t.Errorf("%s", got.badRun)
			}
			if got.tooLittle != "" {
				t.Errorf("%s", got.tooLittle)
			}
			if want := fmt.Sprintf("%.2f", got.tokensPerDay); row.tokensPerDay != want {
				t.Errorf("the rotator README says %s tokens per day, the simulation minted %s: %s", row.tokensPerDay, want, row.line)
			}
			if want := formatLeast(got.leastSeen); row.leastSeen != want {
				t.Errorf("the rotator README says a reader saw at least %s, the simulation %s: %s", row.leastSeen, want, row.line)
			}
		})
	}
}

// TestScheduleTableWriteRule holds the table to Secrets Manager's rule of
// at most one PutSecretValue per 10 minutes per secret, sustained: no row's
// schedule comes more often than every 12 minutes, so that its writes leave
// one an hour for forced runs and retries (12 minutes: 120 a day, against
// the rule's 144), and the shortest lifetime it keeps is the shortest the
// rotator accepts.
func TestScheduleTableWriteRule(t *testing.T) {
	const minEvery = 12 * time.Minute
	var shortest time.Duration
	for _, row := range readmeSchedules(t) {
		if row.every < minEvery {
			t.Errorf("schedule row %q: %s comes every %v, more often than %v", row.line, row.schedule, row.every, minEvery)
		}
		if shortest == 0 || row.minLife < shortest {
			shortest = row.minLife
		}
	}
	if shortest != oauthtoken.MinLifetime {
		t.Errorf("the table's shortest lifetime is %v, want oauthtoken.MinLifetime %v, the shortest a run keeps", shortest, oauthtoken.MinLifetime)
	}
}

type simResult struct {
	tokensPerDay float64
	leastSeen    time.Duration // least lifetime left on a token a read returned
	leastStored  time.Duration // least lifetime left on the stored token, less its consumers' margin
	reads        int
	ticks        int    // scheduled runs, each delivered twice
	badRun       string // the first run that minted other than one token (a duplicate: none)
	tooLittle    string // the first moment the stored token had less than the margin left
}

func (r simResult) String() string {
	return fmt.Sprintf("%d scheduled runs (each delivered twice), %.2f tokens/day, reader saw at least %s left, stored token kept %s beyond the consumers' margin, %d reads",
		r.ticks, r.tokensPerDay, r.leastSeen, r.leastStored, r.reads)
}

// formatLeast writes a duration as the README's table does: minutes and
// seconds under an hour, hours and minutes above.
func formatLeast(d time.Duration) string {
	d = d.Truncate(time.Second)
	if d >= time.Hour {
		return fmt.Sprintf("%d h %02d min", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%d min %02d s", int(d.Minutes()), int(d.Seconds())%60)
}

func simulate(t *testing.T, row scheduleRow, rng *rand.Rand) simResult {
	t.Helper()
	start := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	clock := tokensecrettest.NewClock(start)
	secret := tokensecrettest.NewClient()
	fetcher := &simFetcher{now: clock.Now, rng: rng, min: row.minLife, max: row.maxLife}
	discard := slog.New(slog.DiscardHandler)
	r := rotation.New(rotation.Config{
		Settings: config.Config{Integration: "default", CredentialsSecretID: "creds", TokenSecretID: "token", Provider: config.Provider{TokenURL: "https://provider.example/token",
			Scope: "s", MinTokenAge: config.DefaultMinTokenAge}},
		Store:    newSimStore(secret),
		Fetchers: func(config.Provider) rotation.Fetcher { return fetcher },
		Now:      clock.Now,
		Logger:   discard,
	})
	src, err := tokensecret.New(tokensecret.Config{SecretID: "token", Client: secret, Now: clock.Now, Logger: discard})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// The deploy stores the first token; the schedule's first tick comes at
	// a random phase after it.
	if _, err := r.Run(ctx, rotation.Request{Force: true}); err != nil {
		t.Fatalf("first token: %v", err)
	}
	res := simResult{leastSeen: row.maxLife, leastStored: row.maxLife}
	nextTick := start.Add(draw(rng, row.every))
	tickAt := nextTick.Add(draw(rng, tickLate))
	nextRead := start.Add(expo(rng, readEvery))
	for now := start; now.Before(start.Add(simLength)); now = now.Add(simStep) {
		clock.Set(now)
		if !now.Before(tickAt) {
			// The scheduled run, then the same event delivered again at once,
			// as Scheduler and Lambda may: the duplicate must mint nothing.
			// Every run mints exactly one token, except the first when it
			// comes before the deploy's token is old enough to replace.
			for delivery := range 2 {
				before := fetcher.minted
				if _, err := r.Run(ctx, rotation.Request{}); err != nil {
					t.Fatalf("scheduled run at %s, delivery %d: %v", now.Sub(start), delivery+1, err)
				}
				want := 1
				if delivery == 1 || (res.ticks == 0 && now.Sub(start) < rotation.RefreshAge(fetcher.last.Expiry.Sub(fetcher.last.IssuedAt), config.DefaultMinTokenAge)) {
					want = 0
				}
				if got := fetcher.minted - before; got != want && res.badRun == "" {
					res.badRun = fmt.Sprintf("scheduled run at %s, delivery %d, minted %d tokens, want %d", now.Sub(start), delivery+1, got, want)
				}
			}
			res.ticks++
			nextTick = nextTick.Add(row.every)
			tickAt = nextTick.Add(draw(rng, tickLate))
		}
		if !now.Before(nextRead) {
			tok, err := src.Get(ctx)
			if err != nil {
				t.Fatalf("consumer read at %s: %v", now.Sub(start), err)
			}
			res.reads++
			res.leastSeen = min(res.leastSeen, tok.Expiry.Sub(now))
			nextRead = now.Add(expo(rng, readEvery))
		}
		stored := fetcher.last
		left := stored.Expiry.Sub(now) - consumerMargin(stored.Expiry.Sub(stored.IssuedAt))
		res.leastStored = min(res.leastStored, left)
		if left <= 0 && res.tooLittle == "" {
			res.tooLittle = fmt.Sprintf("at %s the stored token had %s left, not more than the consumers' margin %s",
				now.Sub(start), stored.Expiry.Sub(now), consumerMargin(stored.Expiry.Sub(stored.IssuedAt)))
		}
	}
	// The deploy's token is not the schedule's: count the scheduled ones.
	res.tokensPerDay = float64(fetcher.minted-1) / (simLength.Hours() / 24)
	return res
}

// consumerMargin is tokensecret's default re-read margin for a token that
// lives life: DefaultMargin, or a sixth of the lifetime when shorter.
func consumerMargin(life time.Duration) time.Duration {
	return min(tokensecret.DefaultMargin, life/6)
}

// draw returns a uniform duration in [0, d).
func draw(rng *rand.Rand, d time.Duration) time.Duration { return time.Duration(rng.Int64N(int64(d))) }

// expo draws an exponential wait with the given mean: reads at random times.
func expo(rng *rand.Rand, mean time.Duration) time.Duration {
	return max(time.Duration(rng.ExpFloat64()*float64(mean)), time.Second)
}

// simFetcher issues tokens whose lifetime is drawn from [min, max].
type simFetcher struct {
	now      func() time.Time
	rng      *rand.Rand
	min, max time.Duration
	minted   int
	last     oauthtoken.Token
}

func (f *simFetcher) Fetch(context.Context, oauthtoken.Credentials) (oauthtoken.Token, error) {
	f.minted++
	life := f.min
	if f.max > f.min {
		life += time.Duration(f.rng.Int64N(int64(f.max-f.min)/int64(time.Second)+1)) * time.Second
	}
	issued := f.now().UTC().Truncate(time.Second)
	f.last = oauthtoken.Token{AccessToken: fmt.Sprintf("token-%d", f.minted), TokenType: "bearer",
		IssuedAt: issued, Expiry: issued.Add(life), LifetimeFrom: oauthtoken.FromExpiresIn}
	return f.last, nil
}

// simStore is the real secretstore.Store over a tokensecrettest.Client,
// which the consumer's Source reads too: the rotator's writes and the
// consumer's reads meet in one place, as in Secrets Manager. The client
// holds the token secret only, so the credentials come from here.
type simStore struct{ *secretstore.Store }

func newSimStore(secret *tokensecrettest.Client) simStore {
	return simStore{secretstore.New(putter{Client: secret})}
}

func (simStore) ReadCredentials(context.Context, string) (secretstore.Credentials, error) {
	return secretstore.Credentials{Credentials: oauthtoken.Credentials{ClientID: "client", ClientSecret: "not-a-real-secret"}}, nil
}

// putter gives the fake client the PutSecretValue the store writes with.
type putter struct {
	*tokensecrettest.Client
	stager // the calls not made here: nil
}

// stager is the part of secretstore.SecretsManager only rotation steps call.
type stager interface {
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	UpdateSecretVersionStage(ctx context.Context, in *secretsmanager.UpdateSecretVersionStageInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.UpdateSecretVersionStageOutput, error)
}

func (p putter) PutSecretValue(_ context.Context, in *secretsmanager.PutSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	return &secretsmanager.PutSecretValueOutput{VersionId: aws.String(p.Put(aws.ToString(in.SecretString)))}, nil
}
