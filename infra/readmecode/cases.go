package readmecode

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/functions/tokensecret/tokensecrettest"
)

// ClientID is the client id of every token the cases store; it is no
// secret, and the drivers print it as is.
const ClientID = "readmecode-client"

// Margin is the margin each block must keep in the rotation case: the
// blocks' default for a token that lives 30 s, a sixth of its lifetime
// (their default is 5 min, or a sixth of the lifetime when that is less).
const Margin = 5 * time.Second

// Case is one scenario a block must pass.
type Case struct {
	Name string
	run  func(*run) error
}

// Cases are the scenarios of issue 12 that every block runs, in order,
// each on a fresh instance of the block (Program.Load) and a secret of its
// own.
var Cases = []Case{
	{"fresh token", fresh},
	{"no value yet", noValue},
	{"placeholder", placeholder},
	{"expired token", expired},
	{"rotation during the run", rotation},
}

// CaseNamed returns the case with that name.
func CaseNamed(name string) (Case, bool) {
	for _, c := range Cases {
		if c.Name == name {
			return c, true
		}
	}
	return Case{}, false
}

// fresh: a token 1 h into its 24 h life is what the usage lines send and
// what the token function returns.
func fresh(r *run) error {
	a := r.token("A")
	r.create(tokensecrettest.SecretString(tokensecrettest.NewToken(a, ClientID, time.Now().Add(-time.Hour), 24*time.Hour)))
	if err := r.wantLoaded(a); err != nil {
		return err
	}
	return r.wantGet(a, "get after load")
}

// Errors the blocks must give: the SDK's or the library's word for a
// secret without a value, and the blocks' own for the others.
var (
	noValueError     = regexp.MustCompile(`ResourceNotFoundException|token secret not found`)
	placeholderError = regexp.MustCompile(`holds no token yet`)
	expiredError     = regexp.MustCompile(`(?i)token expired`)
)

// noValue: a secret created without a value, as the stack creates it.
func noValue(r *run) error {
	r.create("")
	return r.wantLoadError(noValueError)
}

// placeholder: the {} written before the first rotation.
func placeholder(r *run) error {
	r.create(tokensecrettest.Placeholder)
	return r.wantLoadError(placeholderError)
}

// expired: a 24 h token that expired an hour ago, as when the rotator has
// stopped.
func expired(r *run) error {
	r.create(tokensecrettest.SecretString(tokensecrettest.NewToken(r.token("A"), ClientID, time.Now().Add(-25*time.Hour), 24*time.Hour)))
	return r.wantLoadError(expiredError)
}

// rotation: token A lives 30 s and expires 10 to 11 s from now, so the
// block's margin is 5 s (Margin) and it should read the secret again 5 to
// 6 s from now. After the block has read A, the secret gets token B.
// Right after that, and again 1.5 s before the margin, the block must
// still return A (it caches, and does not re-read on every call); once
// inside the margin, B.
//
// A reply tells when the block decided only within the time between the
// request and the reply. When a busy machine stretches that across the
// margin, the check cannot tell right from wrong: the first two checks then
// fail as inconclusive, and the one 1.5 s before the margin accepts either
// token, the check right after the rotation having shown the cache.
func rotation(r *run) error {
	a, b := r.token("A"), r.token("B")
	expiry := time.Now().Add(11 * time.Second).Truncate(time.Second)
	refreshAt := expiry.Add(-Margin)
	r.create(tokensecrettest.SecretString(tokensecrettest.NewToken(a, ClientID, expiry.Add(-6*Margin), 6*Margin)))
	if err := r.wantLoaded(a); err != nil {
		return err
	}
	if err := inTime(refreshAt, "the first read"); err != nil {
		return err
	}
	r.put(tokensecrettest.SecretString(tokensecrettest.NewToken(b, ClientID, time.Now(), time.Hour)))
	if err := r.wantGet(a, "right after the secret got token B (the block must cache A until expiry - margin)"); err != nil {
		return err
	}
	if err := inTime(refreshAt, "the get right after the rotation"); err != nil {
		return err
	}

	sleepUntil(r.ctx, refreshAt.Add(-1500*time.Millisecond))
	rep, err := r.prog.Get(r.ctx)
	if err != nil {
		return err
	}
	ambiguous := inTime(refreshAt, "") != nil && rep.OK && rep.A == Fingerprint(b)
	if !ambiguous {
		if err := r.want(rep, a, "before the margin, with token B in the secret (the block must cache A until expiry - margin)"); err != nil {
			return err
		}
	}
	sleepUntil(r.ctx, refreshAt.Add(250*time.Millisecond))
	return r.wantGet(b, fmt.Sprintf("inside the margin (%v before A's expiry), after the secret got token B", Margin))
}

// inTime says whether a reply that has just come came before refreshAt,
// and so was decided before the block's margin.
func inTime(refreshAt time.Time, what string) error {
	if late := time.Since(refreshAt); late >= 0 {
		return fmt.Errorf("rotation: %s came back %v after the margin began: too late to tell whether the block caches; the machine is too busy", what, late.Round(time.Millisecond))
	}
	return nil
}

func sleepUntil(ctx context.Context, t time.Time) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(t)):
	}
}

// run is one case's run of one block.
type run struct {
	ctx      context.Context
	sm       *secretsmanager.Client
	prog     *Program
	api      *apiServer
	secretID string // the secret's name, which the harness writes by
	// secretARN is its full ARN, which the block reads by: a reader in
	// another account must name the secret by its ARN ("Readers in other
	// accounts" in functions/tokensecret/README.md), so TOKEN_SECRET_ID
	// holds the ARN.
	secretARN string
	labels    map[string]string // fingerprint -> "token A", "Bearer <token A>"
	sentinel  map[string]string // access token -> "<token A>"
	errs      []error           // failed writes to the secret
}

// Run runs c on prog, a fresh instance of its block, with a secret of its
// own written through sm (a client of the moto_server that prog's
// environment points at). It returns what went wrong, if anything: a
// failed expectation, a token in the program's output, or a harness
// failure. A failure carries the program's output during the case, tokens
// redacted.
func Run(ctx context.Context, sm *secretsmanager.Client, prog *Program, c Case) (err error) {
	r := &run{
		ctx:      ctx,
		sm:       sm,
		prog:     prog,
		api:      newAPIServer(),
		secretID: "readmecode-" + string(prog.lang) + "-" + strings.ReplaceAll(c.Name, " ", "-") + "-" + randomHex(4),
		labels:   map[string]string{},
		sentinel: map[string]string{},
	}
	defer r.api.Close()
	from := len(prog.Output())
	defer func() {
		out := prog.Output()[from:]
		for s, label := range r.sentinel {
			if strings.Contains(out, s) {
				err = fmt.Errorf("%s: the program printed the access token %s; its output is withheld", c.Name, label)
				return
			}
		}
		if err != nil {
			err = fmt.Errorf("%s: %w\nthe %s block's output during the case:\n%s", c.Name, err, prog.lang, tail([]byte(out), 3000))
		}
	}()
	if err := c.run(r); err != nil {
		return err
	}
	if len(r.errs) > 0 {
		return r.errs[0]
	}
	return nil
}

// token returns a new sentinel access token, and remembers it so that
// replies can name it and output can be checked for it.
func (r *run) token(label string) string {
	s := "readmecode-sentinel-" + label + "-" + randomHex(8)
	r.sentinel[s] = "<token " + label + ">"
	r.labels[Fingerprint(s)] = "token " + label
	r.labels[Fingerprint("Bearer "+s)] = "Bearer <token " + label + ">"
	return s
}

// name says which token a fingerprint belongs to.
func (r *run) name(fp string) string {
	if l, ok := r.labels[fp]; ok {
		return l
	}
	return "an unknown value (fingerprint " + fp + ")"
}

// create creates the case's secret with value, or without a value when
// value is empty.
func (r *run) create(value string) {
	in := &secretsmanager.CreateSecretInput{Name: aws.String(r.secretID)}
	if value != "" {
		in.SecretString = aws.String(value)
	}
	out, err := r.sm.CreateSecret(r.ctx, in)
	if err != nil {
		r.errs = append(r.errs, fmt.Errorf("creating secret %s: %w", r.secretID, err))
		return
	}
	r.secretARN = aws.ToString(out.ARN)
}

// put writes a new AWSCURRENT version, as a rotation does.
func (r *run) put(value string) {
	if _, err := r.sm.PutSecretValue(r.ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(r.secretID), SecretString: aws.String(value)}); err != nil {
		r.errs = append(r.errs, fmt.Errorf("writing secret %s: %w", r.secretID, err))
	}
}

// redact replaces every sentinel in s by its label.
func (r *run) redact(s string) string {
	for tok, label := range r.sentinel {
		s = strings.ReplaceAll(s, tok, label)
	}
	return s
}

// wantLoaded loads the block and checks that its usage lines used token
// tok: in the headers they built, where the driver can see them, and in
// the request they sent to the API, if any; at least one of the two.
func (r *run) wantLoaded(tok string) error {
	if len(r.errs) > 0 {
		return r.errs[0]
	}
	rep, err := r.prog.Load(r.ctx, r.secretARN, r.api.URL)
	if err != nil {
		return err
	}
	if !rep.OK {
		return fmt.Errorf("load: the block failed: %s; want it to use %s", r.redact(rep.Err), r.name(Fingerprint(tok)))
	}
	type seen struct{ where, auth, key string }
	var all []seen
	if rep.A != "-" || rep.B != "-" {
		all = append(all, seen{"the headers the usage lines built", rep.A, rep.B})
	}
	for _, h := range r.api.requests() {
		all = append(all, seen{"the request the usage lines sent", h.auth, h.key})
	}
	if len(all) == 0 {
		return fmt.Errorf("load: the usage lines neither built headers the driver can see nor called the API at $READMECODE_API_URL")
	}
	wantAuth := Fingerprint("Bearer " + tok)
	for _, s := range all {
		if s.auth != wantAuth {
			return fmt.Errorf("load: in %s, Authorization is %s, want %s", s.where, r.name(s.auth), r.name(wantAuth))
		}
		if s.key != ClientID {
			return fmt.Errorf("load: in %s, x-api-key is %q, want %q", s.where, s.key, ClientID)
		}
	}
	return nil
}

// wantLoadError loads the block and checks that it fails with an error
// that matches want.
func (r *run) wantLoadError(want *regexp.Regexp) error {
	if len(r.errs) > 0 {
		return r.errs[0]
	}
	rep, err := r.prog.Load(r.ctx, r.secretARN, r.api.URL)
	if err != nil {
		return err
	}
	if rep.OK {
		return fmt.Errorf("load: the block succeeded; want an error matching /%s/", want)
	}
	if msg := r.redact(rep.Err); !want.MatchString(msg) {
		return fmt.Errorf("load: the block failed with %q; want an error matching /%s/", msg, want)
	}
	return nil
}

// wantGet calls the block's token function and checks that it returns tok.
func (r *run) wantGet(tok, when string) error {
	rep, err := r.prog.Get(r.ctx)
	if err != nil {
		return err
	}
	return r.want(rep, tok, when)
}

// want checks that rep carries tok and ClientID.
func (r *run) want(rep Reply, tok, when string) error {
	label := r.name(Fingerprint(tok))
	switch {
	case len(r.errs) > 0:
		return r.errs[0]
	case !rep.OK:
		return fmt.Errorf("get %s: the block failed: %s; want %s", when, r.redact(rep.Err), label)
	case rep.A != Fingerprint(tok):
		return fmt.Errorf("get %s: got %s, want %s", when, r.name(rep.A), label)
	case rep.B != ClientID:
		return fmt.Errorf("get %s: client id %q, want %q", when, rep.B, ClientID)
	}
	return nil
}

// apiServer stands in for the API the usage lines call, and records the
// fingerprint of each request's Authorization header and its x-api-key.
type apiServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen []apiRequest
}

type apiRequest struct{ auth, key string }

func newAPIServer() *apiServer {
	a := &apiServer{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		a.mu.Lock()
		a.seen = append(a.seen, apiRequest{Fingerprint(req.Header.Get("Authorization")), req.Header.Get("x-api-key")})
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("{}"))
	}))
	return a
}

func (a *apiServer) requests() []apiRequest {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]apiRequest(nil), a.seen...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
