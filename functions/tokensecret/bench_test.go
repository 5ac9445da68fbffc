package tokensecret_test

// Benchmarks for the cached path and for how often each refresh policy reads
// Secrets Manager. Run them with:
//
//	go test -run '^$' -bench . ./functions/tokensecret/
//
// (make bench runs every benchmark in the module). BenchmarkReadsPerDay
// reports reads/day for this package's expiry-aware policy beside fixed-TTL
// caches of 1 h (the AWS caching libraries' default) and 5 min (the Lambda
// extension's maximum), on the same simulated timeline: a rotation every
// 23 h, tokens lasting 24 h, a Get every simulated second. It also reports
// expired/day, calls answered with an expired token (always 0 here).

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret"
	"github.com/tokenrotator/tokenrotator/functions/tokensecret/tokensecrettest"
)

// benchSource returns a Source that has read its token, with a clock that
// never reaches the margin.
func benchSource(b *testing.B) *tokensecret.Source {
	b.Helper()
	sm := tokensecrettest.NewClient()
	sm.PutToken(tokensecrettest.NewToken("token-1", "client-1", start, 24*time.Hour))
	src, err := tokensecret.New(tokensecret.Config{
		SecretID: "bench", Client: sm, Logger: slog.New(slog.DiscardHandler),
		Now: func() time.Time { return start.Add(time.Hour) },
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := src.Get(context.Background()); err != nil {
		b.Fatal(err)
	}
	return src
}

func BenchmarkGetCached(b *testing.B) {
	src := benchSource(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Get(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetCachedParallel(b *testing.B) {
	src := benchSource(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if _, err := src.Get(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkTokenCached(b *testing.B) {
	src := benchSource(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.Token(); err != nil {
			b.Fatal(err)
		}
	}
}

// policy is a way of caching the token: get returns the token to use now.
type policy struct {
	name string
	new  func(sm *tokensecrettest.Client, clock *tokensecrettest.Clock) func(context.Context) (tokensecret.Token, error)
}

// benchPolicies returns the policies BenchmarkReadsPerDay compares.
func benchPolicies() []policy {
	return []policy{
		{"expiry-aware", func(sm *tokensecrettest.Client, clock *tokensecrettest.Clock) func(context.Context) (tokensecret.Token, error) {
			src, _ := tokensecret.New(tokensecret.Config{SecretID: "bench", Client: sm, Now: clock.Now, Logger: slog.New(slog.DiscardHandler)})
			return src.Get
		}},
		{"fixed-ttl-1h", fixedTTL(time.Hour)},
		{"fixed-ttl-5m", fixedTTL(5 * time.Minute)},
	}
}

// fixedTTL is the policy of the AWS caching libraries and the Lambda
// extension: read again once the cached value is ttl old, whatever it holds.
func fixedTTL(ttl time.Duration) func(*tokensecrettest.Client, *tokensecrettest.Clock) func(context.Context) (tokensecret.Token, error) {
	return func(sm *tokensecrettest.Client, clock *tokensecrettest.Clock) func(context.Context) (tokensecret.Token, error) {
		var tok tokensecret.Token
		var fetched time.Time
		return func(ctx context.Context) (tokensecret.Token, error) {
			now := clock.Now()
			if !fetched.IsZero() && now.Sub(fetched) < ttl {
				return tok, nil
			}
			out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("bench")})
			if err != nil {
				return tok, err
			}
			if tok, err = tokensecret.ParseSecret(aws.ToString(out.SecretString)); err != nil {
				return tok, err
			}
			fetched = now
			return tok, nil
		}
	}
}

func BenchmarkReadsPerDay(b *testing.B) {
	const rotation = 23 * time.Hour
	for _, p := range benchPolicies() {
		b.Run(p.name, func(b *testing.B) {
			sm := tokensecrettest.NewClient()
			clock := tokensecrettest.NewClock(start)
			get := p.new(sm, clock)
			ctx := context.Background()
			sm.PutToken(tokensecrettest.NewToken("token", "client-1", clock.Now(), 24*time.Hour))
			nextRotation := start.Add(rotation)
			days, expired := 0, 0
			for b.Loop() {
				for range 24 * 3600 {
					now := clock.Now()
					if !now.Before(nextRotation) {
						sm.PutToken(tokensecrettest.NewToken("token", "client-1", now, 24*time.Hour))
						nextRotation = nextRotation.Add(rotation)
					}
					tok, err := get(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if !now.Before(tok.Expiry) {
						expired++
					}
					clock.Advance(time.Second)
				}
				days++
			}
			b.ReportMetric(float64(sm.Reads())/float64(days), "reads/day")
			b.ReportMetric(float64(expired)/float64(days), "expired/day")
		})
	}
}
