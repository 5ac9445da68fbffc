package rotation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/metrics"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

// Request is what one run is asked to do.
type Request struct {
	// Force replaces every token whatever its age.
	Force bool
	// Integration, when not empty, limits the run to that integration.
	Integration string
}

// ProgressEvery is how many finished integrations a run logs a progress
// line after, with the counts so far.
const ProgressEvery = 100

// maxNamedFailures bounds the failures a run's error spells out; the log
// has every one.
const maxNamedFailures = 20

// Run runs the integrations req asks for: the environment's own and every
// one found under INTEGRATION_SECRET_PREFIX, or only req.Integration.
// At most Config.Concurrency run at once, each within
// Config.IntegrationTimeout, and token writes are paced at
// Config.WriteRate. The result lists every integration's outcome. The error
// is not nil when any integration failed: it names each (up to 20, then a
// count) with its cause, so that the invocation fails, Lambda retries it,
// and the retry, a normal run, fetches only for the integrations still
// without a fresh token.
func (r *Rotator) Run(ctx context.Context, req Request) (Result, error) {
	start := r.cfg.Now()
	log := r.cfg.Logger.With("force", req.Force)
	targets, listErr := r.targets(ctx, req) // a listing failure is logged once, with the run's end
	if len(targets) > 1 {
		log.InfoContext(ctx, "run started", "integrations", len(targets), "concurrency", min(r.cfg.Concurrency, len(targets)),
			"write_rate_per_second", r.cfg.WriteRate)
	}

	results := make([]Result, len(targets))
	errs := make([]error, len(targets))
	progress := newProgress(len(targets))
	sem := make(chan struct{}, r.cfg.Concurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			results[i], errs[i] = r.isolated(ctx, t, req.Force, log)
			if r.cfg.Metrics != nil {
				r.cfg.Metrics.Integration(t.name, outcomeOf(results[i], errs[i], r.cfg.Now()))
			}
			if c, ok := progress.add(results[i], errs[i]); ok {
				log.InfoContext(ctx, "progress", "done", c.Rotated+c.Fresh+c.Failed, "of", len(targets),
					"rotated", c.Rotated, "fresh", c.Fresh, "failed", c.Failed,
					"elapsed_ms", r.cfg.Now().Sub(start).Milliseconds())
			}
		}()
	}
	wg.Wait()

	res, err := r.summarize(targets, results, errs, listErr)
	res.DurationMs = r.cfg.Now().Sub(start).Milliseconds()
	if r.cfg.Metrics != nil {
		r.cfg.Metrics.Run(summaryOf(res, listErr, r.cfg.Now()))
	}
	if len(targets) > 1 || listErr != nil {
		attrs := []any{"integrations", len(targets), "rotated", res.Counts.Rotated, "fresh", res.Counts.Fresh,
			"failed", res.Counts.Failed, "duration_ms", res.DurationMs}
		if err != nil {
			log.ErrorContext(ctx, "run finished with failures", append(attrs, "error", err.Error())...)
		} else {
			log.InfoContext(ctx, "run finished", attrs...)
		}
	}
	return res, err
}

// isolated runs one integration within its own deadline, and turns a panic
// into that integration's failure, so that nothing one integration does
// stops the others.
func (r *Rotator) isolated(ctx context.Context, t target, force bool, log *slog.Logger) (res Result, err error) {
	ctx, cancel := context.WithTimeout(withIntegration(ctx, t.name), r.cfg.IntegrationTimeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("internal error: %v", p) // the run's error and the log line name the integration
			log.ErrorContext(ctx, "rotation failed, nothing written", "integration", t.name, "error", err.Error())
			res = Result{Integration: t.name, TokenSecretID: t.tokenSecretID, Error: err.Error()}
		}
	}()
	return r.one(ctx, t, force, log)
}

// targets lists what req covers. The environment's integration comes first;
// the error says why the added integrations could not be listed, and the
// environment's still runs.
func (r *Rotator) targets(ctx context.Context, req Request) ([]target, error) {
	s := r.cfg.Settings
	var own []target
	if s.CredentialsSecretID != "" {
		own = []target{r.ownTarget()}
	}
	switch {
	case req.Integration != "" && len(own) > 0 && req.Integration == own[0].name:
		return own, nil
	case req.Integration != "" && s.IntegrationSecretPrefix == "":
		return nil, fmt.Errorf("no integration %q: this function keeps only its own, %q (INTEGRATION_SECRET_PREFIX is not set)", req.Integration, s.Integration)
	case req.Integration != "":
		e, err := r.cfg.Directory.Lookup(ctx, s.IntegrationSecretPrefix, req.Integration)
		if err != nil {
			return nil, err
		}
		t, err := r.alone(ctx, e)
		if err != nil {
			return nil, err
		}
		return []target{t}, nil
	case s.IntegrationSecretPrefix == "":
		return own, nil
	}
	entries, err := r.cfg.Directory.List(ctx, s.IntegrationSecretPrefix)
	if err != nil {
		return own, err
	}
	targets := own
	for _, e := range entries {
		targets = append(targets, r.fromEntry(e))
	}
	r.refuseSharedCredentials(ctx, targets)
	return targets, nil
}

// ownTarget is the integration the function's environment configures.
func (r *Rotator) ownTarget() target {
	s := r.cfg.Settings
	return target{name: s.Integration, credentialsSecretID: s.CredentialsSecretID, tokenSecretID: s.TokenSecretID, own: true}
}

// alone is the added integration e as a run of it alone works on it: checked
// against all the others, as in a run of all, so that no other may share
// its credentials secret.
func (r *Rotator) alone(ctx context.Context, e secretstore.Entry) (target, error) {
	s := r.cfg.Settings
	var own []target
	if s.CredentialsSecretID != "" {
		own = []target{r.ownTarget()}
	}
	entries, err := r.cfg.Directory.List(ctx, s.IntegrationSecretPrefix)
	if err != nil {
		return target{}, fmt.Errorf("integration %q: checking that no other integration shares its credentials secret: %w", e.Name, err)
	}
	all := append(own, r.fromEntry(e))
	for _, other := range entries {
		if other.Name != e.Name {
			all = append(all, r.fromEntry(other))
		}
	}
	r.refuseSharedCredentials(ctx, all)
	return all[len(own)], nil
}

// fromEntry is the target of an added integration; its name may not be
// the function's own integration's.
func (r *Rotator) fromEntry(e secretstore.Entry) target {
	s := r.cfg.Settings
	t := target{name: e.Name, credentialsSecretID: e.CredentialsSecretID, tokenSecretID: e.TokenSecretID, problem: e.Problem}
	if s.CredentialsSecretID != "" && e.Name == s.Integration && t.problem == "" {
		t.problem = fmt.Sprintf("integration %q: the name is taken by the function's own integration (INTEGRATION); remove and add it under another name", e.Name)
	}
	return t
}

// summarize builds the run's result and error. A run of one integration
// returns that integration's result and error as they are.
func (r *Rotator) summarize(targets []target, results []Result, errs []error, listErr error) (Result, error) {
	counts := &Counts{}
	var failed []string
	for i, res := range results {
		switch {
		case errs[i] != nil:
			counts.Failed++
			failed = append(failed, fmt.Sprintf("%s: %v", targets[i].name, errs[i]))
		case res.Rotated:
			counts.Rotated++
		default:
			counts.Fresh++
		}
	}
	sorted := append([]Result(nil), results...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Integration < sorted[j].Integration })

	if len(results) == 1 && listErr == nil {
		res := results[0]
		res.Error = ""
		res.Counts, res.Integrations = counts, sorted
		return res, errs[0]
	}
	res := Result{Rotated: counts.Rotated > 0, Counts: counts, Integrations: sorted,
		Reason: fmt.Sprintf("%d integrations: %d rotated, %d fresh, %d failed", len(results), counts.Rotated, counts.Fresh, counts.Failed)}
	for i, one := range results {
		if errs[i] == nil && (res.Expiry.IsZero() || one.Expiry.Before(res.Expiry)) {
			res.Expiry, res.IssuedAt = one.Expiry, one.IssuedAt
		}
	}
	if counts.Failed == 0 && listErr == nil {
		return res, nil
	}
	var b strings.Builder
	if listErr != nil {
		fmt.Fprintf(&b, "finding the added integrations failed, so they were not run: %v", listErr)
		if len(results) > 0 {
			b.WriteString("; ")
		}
	}
	switch {
	case counts.Failed > 0:
		fmt.Fprintf(&b, "%d of %d integrations failed (%d rotated, %d fresh; nothing was written for the failed ones)",
			counts.Failed, len(results), counts.Rotated, counts.Fresh)
	case len(results) > 0:
		fmt.Fprintf(&b, "the %d that could be run did not fail (%d rotated, %d fresh)", len(results), counts.Rotated, counts.Fresh)
	}
	for i, f := range failed {
		if i == maxNamedFailures {
			fmt.Fprintf(&b, "; and %d more, named in the log", len(failed)-i)
			break
		}
		b.WriteString("; ")
		b.WriteString(f)
	}
	return res, errors.New(b.String())
}

// outcomeOf is one integration's metrics.
func outcomeOf(res Result, err error, now time.Time) metrics.Outcome {
	if err != nil {
		return metrics.Outcome{Failed: true, Attempts: res.TokenRequestAttempts}
	}
	return metrics.Outcome{Rotated: res.Rotated, TTL: res.Expiry.Sub(now), TokenRequest: time.Duration(res.TokenRequestMs) * time.Millisecond,
		Attempts: res.TokenRequestAttempts}
}

// summaryOf is the run's metrics. A run that could not list the added
// integrations counts as one more failure.
func summaryOf(res Result, listErr error, now time.Time) metrics.Summary {
	s := metrics.Summary{Integrations: len(res.Integrations), Rotated: res.Counts.Rotated, Failed: res.Counts.Failed}
	if listErr != nil {
		s.Integrations++
		s.Failed++
	}
	for _, one := range res.Integrations {
		if one.TokenRequestAttempts > 0 {
			s.Attempts += one.TokenRequestAttempts
			s.Requested++
		}
		if one.Error != "" {
			continue
		}
		if ttl := one.Expiry.Sub(now); s.MinTTL == 0 || ttl < s.MinTTL {
			s.MinTTL = ttl
		}
		s.MaxTokenRequest = max(s.MaxTokenRequest, time.Duration(one.TokenRequestMs)*time.Millisecond)
	}
	return s
}

// progress counts finished integrations and says when to log a line.
type progress struct {
	mu     sync.Mutex
	total  int
	counts Counts
}

func newProgress(total int) *progress { return &progress{total: total} }

// add counts one outcome; ok is true every ProgressEvery integrations of a
// run of more than ProgressEvery.
func (p *progress) add(res Result, err error) (Counts, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case err != nil:
		p.counts.Failed++
	case res.Rotated:
		p.counts.Rotated++
	default:
		p.counts.Fresh++
	}
	done := p.counts.Rotated + p.counts.Fresh + p.counts.Failed
	return p.counts, p.total > ProgressEvery && done%ProgressEvery == 0
}
