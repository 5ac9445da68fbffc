package faultmatrix

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/internal/rotation"
	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
)

// deadline is each run's Lambda-like deadline. The template gives the
// function 60 s; 15 s keeps the matrix short and is still three times the
// fetcher's reserve.
const deadline = 15 * time.Second

// delivery is what one invocation did and left. Invocations delivered at
// once (fleet.overlap) share what they left: the counters and snapshots
// cover them all.
type delivery struct {
	res      rotation.Result
	err      error
	took     time.Duration
	ctxErr   error // the deadline's context, when the handler returned
	panicked string

	before, after snapshot
	// Deltas of the counters over the invocation.
	tokenRequests       int
	gets, puts, putsOut int // GetSecretValue and PutSecretValue calls; puts that reached moto
	signs               int // KMS Sign calls, faulted or not
	issued              []imsemu.Issued

	// A fleet case's integrations, in the order of record.members.
	members []memberDelivery
	metrics string // the metric lines written during the invocation

	// A native case's step: its name, the writes that reached moto during
	// it, and how many calls the proxy faulted; metrics holds its lines.
	// Steps delivered at once (atOnce of them) share what they did.
	step    string
	writes  []write
	faulted int
	atOnce  int
}

// memberDelivery is what one invocation did for one integration of a fleet.
type memberDelivery struct {
	res           *rotation.Result // its entry in the run's result; nil when not run
	before, after snapshot
	requests      int // token requests of its client
	gets, puts    int // GetSecretValue and PutSecretValue calls on its secrets
	putsOut       int // its PutSecretValue calls that reached moto
	issued        []imsemu.Issued
}

// record is what a case did, for the checks.
type record struct {
	setupErr   error
	deliveries []delivery
	logs       string
	metrics    string
	elsewhere  int
	calls      int // every call at the proxy
	requests   int // every request at the token endpoints
	issued     []imsemu.Issued
	seeded     string // the seeded access token
	// A private_key_jwt case's KMS key ARN and the assertions it sent.
	signingKey string
	assertions []string
	faultTok   []string
	credsID    string
	tokenID    string
	tokenURL   string
	elseURL    string
	proxyURL   string

	fleet   *fleet
	members []member
	prefix  string // INTEGRATION_SECRET_PREFIX

	native *nativeRecord
	// cs is a client-secret case's record (area "client-secret rotation").
	cs *csRecord
	// cfnReports are the statuses reported to a custom-resource event's ResponseURL.
	cfnReports []string
}

// runCase builds case n's world, delivers its event, and records.
func runCase(moto *motoserver.Server, n int, c matrixCase) record {
	if c.clientSecret != nil {
		return runClientSecret(moto, n, c)
	}
	ctx := context.Background()
	r, err := newRig(ctx, moto, n, c)
	if err != nil {
		return record{setupErr: err}
	}
	defer r.close()
	rec := record{seeded: r.seeded.AccessToken, faultTok: r.faultTok, credsID: r.credsID, tokenID: r.tokenID,
		tokenURL: r.tokenURL, elseURL: r.elseURL, proxyURL: r.proxyURL, fleet: c.fleet, prefix: r.prefix}
	for _, m := range r.members {
		rec.members = append(rec.members, *m)
	}
	switch {
	case c.native != nil:
		if rec.deliveries, rec.native, err = r.runNative(ctx); err != nil {
			rec.setupErr = err
			return rec
		}
		rec.faultTok = append(rec.faultTok, rec.native.sentinels...)
	case c.fleet != nil && c.fleet.overlap:
		handlers := []handler{r.handle}
		for len(handlers) < c.times() {
			handlers = append(handlers, r.build())
		}
		if rec.deliveries, err = r.deliver(ctx, handlers...); err != nil {
			rec.setupErr = err
			return rec
		}
	default:
		for range c.times() {
			d, err := r.deliver(ctx, r.handle)
			if err != nil {
				rec.setupErr = err
				return rec
			}
			rec.deliveries = append(rec.deliveries, d...)
		}
	}
	rec.logs, rec.metrics = r.logs.String(), r.metrics.String()
	rec.elsewhere = int(r.elsewhere.Load())
	rec.cfnReports = slices.Clone(r.cfnReports)
	rec.calls = r.proxy.Calls("")
	rec.signingKey, rec.assertions = r.signingKey, r.assertions.assertions()
	for _, ims := range r.emulators {
		rec.requests += ims.Requests()
		rec.issued = append(rec.issued, ims.Issued()...)
	}
	return rec
}

// counters are the rig's counters at one moment.
type counters struct {
	requests, issued, gets, puts, putsOut, metrics, signs int
	members                                               []memberDelivery // requests, gets, puts, putsOut; issued as a count in len
}

func (r *rig) counters() counters {
	c := counters{requests: r.ims.Requests(), issued: len(r.ims.Issued()), metrics: len(r.metrics.String()),
		gets: r.proxy.Calls(faultproxy.GetSecretValue), puts: r.proxy.Calls(faultproxy.PutSecretValue),
		putsOut: r.proxy.Forwarded(faultproxy.PutSecretValue), signs: r.proxy.Calls(faultproxy.KMSSign)}
	for _, m := range r.members {
		c.members = append(c.members, memberDelivery{
			requests: m.perClient.of(m.client),
			gets:     r.front.count(faultproxy.GetSecretValue, m.credsID) + r.front.count(faultproxy.GetSecretValue, m.tokenID),
			puts:     r.front.count(faultproxy.PutSecretValue, m.tokenID),
			putsOut:  r.back.count(faultproxy.PutSecretValue, m.tokenID),
			issued:   m.ims.Issued(),
		})
	}
	return c
}

// deliver invokes each handler once, all at once, under the deadline,
// recovering a panic, and returns one delivery per handler.
func (r *rig) deliver(ctx context.Context, handlers ...handler) ([]delivery, error) {
	var shared delivery
	before, err := r.snapshots(ctx)
	if err != nil {
		return nil, err
	}
	shared.before = before[0]
	for _, s := range before[1:] {
		shared.members = append(shared.members, memberDelivery{before: s})
	}
	was := r.counters()

	out := make([]delivery, len(handlers))
	var wg sync.WaitGroup
	for i, h := range handlers {
		wg.Go(func() { out[i] = invoke(ctx, h, strings.ReplaceAll(r.c.payload(), responseURL, r.cfnURL)) })
	}
	wg.Wait()

	now := r.counters()
	shared.tokenRequests = now.requests - was.requests
	shared.issued = r.ims.Issued()[was.issued:]
	shared.gets, shared.puts, shared.putsOut = now.gets-was.gets, now.puts-was.puts, now.putsOut-was.putsOut
	shared.signs = now.signs - was.signs
	shared.metrics = r.metrics.String()[was.metrics:]
	after, err := r.snapshots(ctx)
	if err != nil {
		return nil, err
	}
	shared.after = after[0]
	for j, m := range r.members {
		md := &shared.members[j]
		md.requests = now.members[j].requests - was.members[j].requests
		md.gets = now.members[j].gets - was.members[j].gets
		md.puts = now.members[j].puts - was.members[j].puts
		md.putsOut = now.members[j].putsOut - was.members[j].putsOut
		for _, i := range now.members[j].issued[len(was.members[j].issued):] {
			if i.ClientID == m.client {
				md.issued = append(md.issued, i)
			}
		}
		md.after = after[j+1]
	}
	for i := range out {
		d := &out[i]
		d.before, d.after, d.metrics = shared.before, shared.after, shared.metrics
		d.tokenRequests, d.issued = shared.tokenRequests, shared.issued
		d.gets, d.puts, d.putsOut, d.signs = shared.gets, shared.puts, shared.putsOut, shared.signs
		for _, md := range shared.members {
			md.res = resultOf(d.res, r.members[len(d.members)].name)
			d.members = append(d.members, md)
		}
	}
	return out, nil
}

// snapshots returns the function's own token secret's state, then, for a
// fleet, each member's (the own one again first).
func (r *rig) snapshots(ctx context.Context) ([]snapshot, error) {
	if r.members == nil {
		s, err := r.snapshot(ctx)
		return []snapshot{s}, err
	}
	s, err := r.snapshotFleet(ctx)
	if err != nil {
		return nil, err
	}
	return append([]snapshot{s[0]}, s...), nil
}

// invoke runs one handler under the deadline, recovering a panic.
func invoke(ctx context.Context, h handler, payload string) delivery {
	var d delivery
	runCtx, cancel := context.WithTimeout(ctx, deadline)
	defer cancel()
	start := time.Now()
	func() {
		defer func() {
			if p := recover(); p != nil {
				d.panicked = fmt.Sprintf("%v\n%s", p, debug.Stack())
			}
		}()
		d.res, d.err = h(runCtx, json.RawMessage(payload))
	}()
	d.took = time.Since(start)
	d.ctxErr = runCtx.Err()
	return d
}

// resultOf returns integration name's entry in a run's result, or nil.
func resultOf(res rotation.Result, name string) *rotation.Result {
	for i := range res.Integrations {
		if res.Integrations[i].Integration == name {
			return &res.Integrations[i]
		}
	}
	return nil
}

// outcome classifies a delivery: a success that needed more calls than a
// clean rotation (2 reads, 1 token request, 1 write; with private_key_jwt,
// 1 KMS Sign) was retried. A fleet
// run is failed, a no-op or rotated; its integrations say more.
func (d delivery) outcome() outcome {
	switch {
	case d.err != nil || d.panicked != "":
		return failed
	case !d.res.Rotated:
		return noOp
	case d.members != nil:
		return rotated
	case d.tokenRequests > 1 || d.gets > 2 || d.puts > 1 || d.signs > 1:
		return retried
	}
	return rotated
}

// outcome classifies what a run did for one integration, as
// delivery.outcome does for a run.
func (md memberDelivery) outcome() outcome {
	switch {
	case md.res == nil:
		return notRun
	case md.res.Error != "":
		return failed
	case !md.res.Rotated:
		return noOp
	case md.requests > 1 || md.gets > 2 || md.puts > 1:
		return retried
	}
	return rotated
}
