package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/rie"
	"github.com/tokenrotator/tokenrotator/infra/local/stack"
)

// startStack brings the stack up for one test and, at cleanup, stops it
// and checks that none of its processes is left.
func startStack(t *testing.T, env ...string) *stack.Stack {
	t.Helper()
	if !motoserver.Available() {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true; %s", motoserver.Binary, motoserver.InstallHint)
		}
		t.Skipf("end-to-end test needs %s; %s", motoserver.Binary, motoserver.InstallHint)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	st, err := stack.Start(ctx, stack.Config{Dir: dir, Env: env})
	if err != nil {
		t.Fatalf("stack.Start() error = %v", err)
	}
	motoPort := st.Moto.Endpoint[strings.LastIndexByte(st.Moto.Endpoint, ':')+1:]
	t.Cleanup(func() {
		st.Close()
		if left := leftovers(dir, motoPort); len(left) > 0 {
			t.Errorf("processes left after Close: %q, want none", left)
		}
	})
	return st
}

// leftovers lists the live processes running a binary from dir, or
// moto_server on port.
func leftovers(dir, port string) []string {
	deadline := time.Now().Add(3 * time.Second)
	for {
		var left []string
		paths, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil || len(b) == 0 {
				continue // gone, or a zombie
			}
			cmd := strings.Join(strings.Split(strings.TrimRight(string(b), "\x00"), "\x00"), " ")
			if strings.Contains(cmd, dir) || (strings.Contains(cmd, motoserver.Binary) && strings.Contains(cmd, " "+port)) {
				left = append(left, cmd)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestScheduledRunsThenForce(t *testing.T) {
	st := startStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// First scheduled run: no token yet, so one is fetched and stored.
	before := time.Now()
	first, err := st.InvokeEvent(ctx, "scheduler.json")
	if err != nil {
		t.Fatalf("first scheduled run: error = %v\n%s", err, st.Output())
	}
	if !first.Rotated {
		t.Fatalf("first scheduled run: rotated = false, want true (reason %q)", first.Reason)
	}
	issued := st.IMS.Issued()
	if len(issued) != 1 {
		t.Fatalf("first scheduled run: %d tokens issued, want 1", len(issued))
	}
	tok, err := st.StoredToken(ctx)
	if err != nil {
		t.Fatalf("StoredToken() error = %v", err)
	}
	checkToken(t, tok, issued[0], before)
	if !first.Expiry.Equal(tok.Expiry) {
		t.Errorf("result expiry = %v, want the stored %v", first.Expiry, tok.Expiry)
	}
	if got, want := first.VersionID, tok.VersionID; got != want {
		t.Errorf("result version_id = %q, want %q", got, want)
	}
	checkRequest(t, st.IMS)
	checkVersions(t, st, map[string][]string{tok.VersionID: {"AWSCURRENT"}})

	// Second run with the same event: the token is fresh, nothing happens.
	requests := st.IMS.Requests()
	for _, event := range []string{"scheduler.json", "rule.json", "empty.json"} {
		res, err := st.InvokeEvent(ctx, event)
		if err != nil {
			t.Fatalf("%s run: error = %v", event, err)
		}
		if res.Rotated {
			t.Errorf("%s run: rotated = true, want false", event)
		}
		if got, want := res.VersionID, tok.VersionID; got != want {
			t.Errorf("%s run: version_id = %q, want %q", event, got, want)
		}
	}
	if got := st.IMS.Requests(); got != requests {
		t.Errorf("runs with a fresh token made %d token requests, want 0", got-requests)
	}
	checkVersions(t, st, map[string][]string{tok.VersionID: {"AWSCURRENT"}})

	// A forced run writes a new version; the first one becomes AWSPREVIOUS.
	forced, err := st.InvokeEvent(ctx, "force.json")
	if err != nil {
		t.Fatalf("forced run: error = %v", err)
	}
	if !forced.Rotated {
		t.Fatalf("forced run: rotated = false, want true")
	}
	if got, want := forced.PreviousVersionID, tok.VersionID; got != want {
		t.Errorf("forced run: previous_version_id = %q, want %q", got, want)
	}
	issued = st.IMS.Issued()
	if len(issued) != 2 {
		t.Fatalf("after the forced run: %d tokens issued, want 2", len(issued))
	}
	current, err := st.StoredToken(ctx)
	if err != nil {
		t.Fatalf("StoredToken() error = %v", err)
	}
	checkToken(t, current, issued[1], before)
	previous, err := st.TokenVersion(ctx, "", "AWSPREVIOUS")
	if err != nil {
		t.Fatalf("TokenVersion(AWSPREVIOUS) error = %v", err)
	}
	if previous.AccessToken != issued[0].AccessToken || previous.VersionID != tok.VersionID {
		t.Errorf("AWSPREVIOUS is version %s, want the first token's version %s", previous.VersionID, tok.VersionID)
	}
	checkVersions(t, st, map[string][]string{tok.VersionID: {"AWSPREVIOUS"}, current.VersionID: {"AWSCURRENT"}})

	checkNoSecrets(t, st, issued)
}

func TestFailureIsAFunctionError(t *testing.T) {
	st := startStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The stored credentials no longer match what IMS holds.
	if err := st.IMS.SetClient(stack.ClientID, imsemu.Client{Secrets: []string{"a-secret-that-is-not-stored"}}); err != nil {
		t.Fatalf("SetClient() error = %v", err)
	}
	_, err := st.InvokeEvent(ctx, "scheduler.json")
	var fe *rie.FunctionError
	if !errors.As(err, &fe) {
		t.Fatalf("run with a revoked secret: error = %v, want a *rie.FunctionError", err)
	}
	for _, want := range []string{"invalid_client", "invalid client_secret parameter"} {
		if !strings.Contains(fe.Message, want) {
			t.Errorf("function error message = %q, want it to contain %q", fe.Message, want)
		}
	}
	if got := st.IMS.Requests(); got != 1 {
		t.Errorf("token requests = %d, want 1 (invalid_client is not retried)", got)
	}
	checkVersions(t, st, map[string][]string{})
	checkNoSecrets(t, st, st.IMS.Issued())
}

func TestBasicAuth(t *testing.T) {
	st := startStack(t, "TOKEN_AUTH=basic")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := st.InvokeEvent(ctx, "empty.json")
	if err != nil {
		t.Fatalf("run with TOKEN_AUTH=basic: error = %v", err)
	}
	if !res.Rotated {
		t.Errorf("run with TOKEN_AUTH=basic: rotated = false, want true")
	}
	last, ok := st.IMS.LastRequest()
	if !ok {
		t.Fatalf("LastRequest() ok = false, want true")
	}
	if !last.BasicAuth || last.SecretInForm || last.Form.Has("client_id") {
		t.Errorf("request: BasicAuth %v, client_secret in form %v, client_id in form %v; want true, false, false",
			last.BasicAuth, last.SecretInForm, last.Form.Has("client_id"))
	}
	checkNoSecrets(t, st, st.IMS.Issued())
}

func TestCustomResourceCreate(t *testing.T) {
	st := startStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfn := &cfnReceiver{}
	srv := httptest.NewServer(cfn)
	defer srv.Close()
	payload, err := st.Event("cfn-create.json")
	if err != nil {
		t.Fatal(err)
	}
	payload = withResponseURL(t, payload, srv.URL+"/response")
	if _, err := st.Invoke(ctx, payload); err != nil {
		t.Fatalf("custom-resource Create: error = %v", err)
	}
	if got := cfn.body(); !strings.Contains(got, `"Status":"SUCCESS"`) {
		t.Errorf("CloudFormation response = %s, want Status SUCCESS", got)
	}
	if got := len(st.IMS.Issued()); got != 1 {
		t.Errorf("tokens issued = %d, want 1", got)
	}
	checkNoSecrets(t, st, st.IMS.Issued())
}

func checkToken(t *testing.T, tok stack.StoredToken, issued imsemu.Issued, before time.Time) {
	t.Helper()
	if tok.AccessToken == "" || tok.AccessToken != issued.AccessToken {
		t.Errorf("stored access_token %s, want the issued one %s", stack.Mask(tok.AccessToken), stack.Mask(issued.AccessToken))
	}
	if got, want := tok.TokenType, "bearer"; got != want {
		t.Errorf("token_type = %q, want %q", got, want)
	}
	now := time.Now()
	if tok.IssuedAt.Before(before.Add(-2*time.Second)) || tok.IssuedAt.After(now.Add(2*time.Second)) {
		t.Errorf("issued_at = %v, want between %v and %v", tok.IssuedAt, before, now)
	}
	if got, want := tok.Expiry.Sub(tok.IssuedAt), imsemu.DefaultExpiresIn*time.Second; got < want-2*time.Second || got > want+2*time.Second {
		t.Errorf("expiry - issued_at = %v, want about %v", got, want)
	}
	if tok.Expiry.Location() != time.UTC || tok.IssuedAt.Location() != time.UTC {
		t.Errorf("expiry %v, issued_at %v: want UTC", tok.Expiry, tok.IssuedAt)
	}
	if got, want := tok.ClientID, stack.ClientID; got != want {
		t.Errorf("client_id = %q, want %q", got, want)
	}
	if got, want := tok.Scope, stack.Scope; got != want {
		t.Errorf("scope = %q, want %q", got, want)
	}
}

func checkRequest(t *testing.T, ims *imsemu.Server) {
	t.Helper()
	last, ok := ims.LastRequest()
	if !ok {
		t.Fatalf("LastRequest() ok = false, want true")
	}
	want := map[string]string{"grant_type": "client_credentials", "client_id": stack.ClientID, "scope": stack.Scope}
	for k, v := range want {
		if got := last.Form.Get(k); got != v {
			t.Errorf("token request %s = %q, want %q", k, got, v)
		}
	}
	if !last.SecretInForm || last.BasicAuth {
		t.Errorf("token request: client_secret in form %v, Basic header %v; want true, false", last.SecretInForm, last.BasicAuth)
	}
}

// checkVersions compares the token secret's versions and their stages.
func checkVersions(t *testing.T, st *stack.Stack, want map[string][]string) {
	t.Helper()
	versions, err := st.Versions(context.Background())
	if err != nil {
		t.Fatalf("Versions() error = %v", err)
	}
	got := map[string][]string{}
	for _, v := range versions {
		stages := slices.Clone(v.Stages)
		slices.Sort(stages)
		got[v.ID] = stages
	}
	if len(got) != len(want) {
		t.Fatalf("versions = %v, want %v", got, want)
	}
	for id, stages := range want {
		if !slices.Equal(got[id], stages) {
			t.Errorf("version %s stages = %v, want %v", id, got[id], stages)
		}
	}
}

// checkNoSecrets fails when a line of the function's output holds the
// client secret or an issued token.
func checkNoSecrets(t *testing.T, st *stack.Stack, issued []imsemu.Issued) {
	t.Helper()
	sentinels := map[string]string{"the client secret": st.ClientSecret()}
	for i, tok := range issued {
		sentinels["issued token "+string(rune('1'+i))] = tok.AccessToken
	}
	out := st.Output()
	if out == "" {
		t.Errorf("the function's output is empty, want its log lines")
	}
	for n, line := range strings.Split(out, "\n") {
		for what, s := range sentinels {
			if s != "" && strings.Contains(line, s) {
				t.Errorf("output line %d holds %s", n+1, what)
			}
		}
	}
}

// cfnReceiver records CloudFormation responses.
type cfnReceiver struct {
	mu   sync.Mutex
	last []byte
}

func (c *cfnReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.last = b
	c.mu.Unlock()
}

func (c *cfnReceiver) body() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.last)
}

func withResponseURL(t *testing.T, payload []byte, url string) []byte {
	t.Helper()
	var ev map[string]any
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatalf("decoding the sample event: %v", err)
	}
	ev["ResponseURL"] = url
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatalf("encoding the event: %v", err)
	}
	return b
}
