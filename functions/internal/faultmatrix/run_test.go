package faultmatrix

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
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

// delivery is what one invocation did and left.
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
	issued              []imsemu.Issued
}

// record is what a case did, for the checks.
type record struct {
	setupErr   error
	deliveries []delivery
	logs       string
	metrics    string
	elsewhere  int
	calls      int // every call at the proxy
	requests   int // every request at the token endpoint
	issued     []imsemu.Issued
	seeded     string // the seeded access token
	faultTok   []string
	credsID    string
	tokenID    string
	tokenURL   string
	elseURL    string
	proxyURL   string
}

// runCase builds case n's world, delivers its event, and records.
func runCase(moto *motoserver.Server, n int, c matrixCase) record {
	ctx := context.Background()
	r, err := newRig(ctx, moto, n, c)
	if err != nil {
		return record{setupErr: err}
	}
	defer r.close()
	rec := record{seeded: r.seeded.AccessToken, faultTok: r.faultTok, credsID: r.credsID, tokenID: r.tokenID,
		tokenURL: r.tokenURL, elseURL: r.elseURL, proxyURL: r.proxyURL}
	for range c.times() {
		d, err := r.deliver(ctx)
		if err != nil {
			rec.setupErr = err
			return rec
		}
		rec.deliveries = append(rec.deliveries, d)
	}
	rec.logs, rec.metrics = r.logs.String(), r.metrics.String()
	rec.elsewhere = int(r.elsewhere.Load())
	rec.calls = r.proxy.Calls("")
	rec.requests = r.ims.Requests()
	rec.issued = r.ims.Issued()
	return rec
}

// deliver invokes the handler once under the deadline, recovering a panic.
func (r *rig) deliver(ctx context.Context) (delivery, error) {
	var d delivery
	var err error
	if d.before, err = r.snapshot(ctx); err != nil {
		return d, err
	}
	requests, issued := r.ims.Requests(), len(r.ims.Issued())
	gets, puts := r.proxy.Calls(faultproxy.GetSecretValue), r.proxy.Calls(faultproxy.PutSecretValue)
	putsOut := r.proxy.Forwarded(faultproxy.PutSecretValue)

	runCtx, cancel := context.WithTimeout(ctx, deadline)
	start := time.Now()
	func() {
		defer func() {
			if p := recover(); p != nil {
				d.panicked = fmt.Sprintf("%v\n%s", p, debug.Stack())
			}
		}()
		d.res, d.err = r.handle(runCtx, json.RawMessage(r.c.payload()))
	}()
	d.took = time.Since(start)
	d.ctxErr = runCtx.Err()
	cancel()

	d.tokenRequests = r.ims.Requests() - requests
	d.issued = r.ims.Issued()[issued:]
	d.gets = r.proxy.Calls(faultproxy.GetSecretValue) - gets
	d.puts = r.proxy.Calls(faultproxy.PutSecretValue) - puts
	d.putsOut = r.proxy.Forwarded(faultproxy.PutSecretValue) - putsOut
	if d.after, err = r.snapshot(ctx); err != nil {
		return d, err
	}
	return d, nil
}

// outcome classifies a delivery: a success that needed more calls than a
// clean rotation (2 reads, 1 token request, 1 write) was retried.
func (d delivery) outcome() outcome {
	switch {
	case d.err != nil || d.panicked != "":
		return failed
	case !d.res.Rotated:
		return noOp
	case d.tokenRequests > 1 || d.gets > 2 || d.puts > 1:
		return retried
	}
	return rotated
}
