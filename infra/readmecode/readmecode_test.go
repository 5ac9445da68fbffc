package readmecode_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/readmecode"
	"github.com/tokenrotator/tokenrotator/infra/repodoc"
)

// caseTimeout bounds one case, the slowest of which (the rotation) takes
// about 5 s, and the start of a driver.
const caseTimeout = time.Minute

// doc is a document whose consumer blocks the test runs: the user's copy,
// not a test fixture.
type doc struct {
	name, path, text string
	blocks           map[readmecode.Lang]readmecode.Block
	// extract finds the blocks in a (broken) copy of text.
	extract func(text string) (map[readmecode.Lang]readmecode.Block, error)
}

// docs are the consumers' document, with a block per language, and the
// top-level README, whose one Go block is the short consumer a newcomer
// copies first.
func docs(t *testing.T) []doc {
	t.Helper()
	top := func(text string) (map[readmecode.Lang]readmecode.Block, error) {
		gos, err := readmecode.Blocks(text, readmecode.Go)
		if err != nil {
			return nil, err
		}
		if len(gos) != 1 {
			return nil, fmt.Errorf("%s has %d Go blocks, want one: the short consumer", repodoc.Top, len(gos))
		}
		return map[readmecode.Lang]readmecode.Block{readmecode.Go: gos[0]}, nil
	}
	var out []doc
	for _, d := range []doc{{name: repodoc.Consumers, extract: readmecode.Consumers}, {name: repodoc.Top, extract: top}} {
		var err error
		if d.path, err = repodoc.Path(d.name); err != nil {
			t.Fatal(err)
		}
		if d.text, err = repodoc.Read(d.name); err != nil {
			t.Fatal(err)
		}
		if d.blocks, err = d.extract(d.text); err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		out = append(out, d)
	}
	return out
}

// breakage is a change to a copy of the README that breaks one block, and
// the failure the case named must then report.
type breakage struct {
	name     string
	old, new string // replaced, once, in the README copy
	caseName string
	failure  *regexp.Regexp
}

// breakages, per document and language. Each old text must occur exactly
// once in its document: when a block changes, the test says which breakage
// to update, rather than passing on a copy that is not broken.
var breakages = map[string]map[readmecode.Lang][]breakage{
	repodoc.Top: {readmecode.Go: {{
		name:     "client without the token",
		old:      "resp, err := tokensecret.NewClient(src).Get(url)",
		new:      "resp, err := http.Get(url)",
		caseName: "fresh token",
		failure:  regexp.MustCompile(`load: in the request the usage lines sent, Authorization is`),
	}}},
	repodoc.Consumers: {
		readmecode.Python: {{
			name:     "token printed",
			old:      "headers = {\"Authorization\": f\"Bearer {access_token}\", \"x-api-key\": client_id}\n",
			new:      "headers = {\"Authorization\": f\"Bearer {access_token}\", \"x-api-key\": client_id}\nprint(\"token:\", access_token)\n",
			caseName: "fresh token",
			failure:  regexp.MustCompile(`the program printed the access token <token A>; its output is withheld`),
		}, {
			name:     "expiry check removed",
			old:      "        if now >= expiry:\n            raise RuntimeError(f\"token expired at {value['expiry']}\")\n",
			caseName: "expired token",
			failure:  regexp.MustCompile(`load: the block succeeded; want an error matching`),
		}, {
			name:     "no cache",
			old:      `if _cache["token"] is None or now >= _cache["refresh_at"]:`,
			new:      `if True:`,
			caseName: "rotation during the run",
			failure:  regexp.MustCompile(`get right after the secret got token B.*: got token B, want token A`),
		}},
		readmecode.Node: {{
			name:     "expiry check removed",
			old:      "      if (Date.now() >= expiry) throw new Error(`token expired at ${v.expiry}`);\n",
			caseName: "expired token",
			failure:  regexp.MustCompile(`load: the block succeeded; want an error matching`),
		}, {
			name:     "no margin",
			old:      "refreshAt: expiry - margin",
			new:      "refreshAt: expiry",
			caseName: "rotation during the run",
			failure:  regexp.MustCompile(`get inside the margin.*: got token A, want token B`),
		}},
		readmecode.Go: {{
			name:     "margin of 1 ns",
			old:      "\tSecretID: os.Getenv(\"TOKEN_SECRET_ID\"),\n",
			new:      "\tSecretID: os.Getenv(\"TOKEN_SECRET_ID\"),\n\tMargin:   time.Nanosecond,\n",
			caseName: "rotation during the run",
			failure:  regexp.MustCompile(`get inside the margin.*: got token A, want token B`),
		}},
	}}

// TestREADMEConsumerBlocks runs every consumer block of the docs through
// every case, and each broken copy through the case that must catch it.
func TestREADMEConsumerBlocks(t *testing.T) {
	all := docs(t)
	srv := motoserver.ForTest(t)
	sm := secretsmanager.NewFromConfig(srv.AWSConfig())
	rt := findRuntimes(t)

	var jobs []*job
	for _, d := range all {
		for _, lang := range readmecode.Langs {
			block, ok := d.blocks[lang]
			if !ok {
				continue
			}
			jobs = append(jobs, &job{name: d.name + "/" + string(lang), lang: lang, block: block, readme: d.path, cases: readmecode.Cases, dir: t.TempDir()})
			for _, b := range breakages[d.name][lang] {
				jobs = append(jobs, brokenJob(t, d, lang, b))
			}
		}
	}
	// Every block runs in a process of its own, all at once: the cases
	// mostly wait (the rotation 4 to 5 s), and subtests under t.Parallel
	// would run only GOMAXPROCS (2 here) at a time.
	start := time.Now()
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Go(func() { j.run(t.Context(), rt, srv, sm) })
	}
	wg.Wait()
	t.Logf("%d blocks ran in %v", len(jobs), time.Since(start).Round(time.Millisecond))
	for _, j := range jobs {
		t.Run(j.name, j.report)
	}
}

// job is one block to run, in a driver of its own: the README's, with
// every case, or a broken copy's, with the case that must catch it.
type job struct {
	name     string
	lang     readmecode.Lang
	block    readmecode.Block
	readme   string // the document's path, for compile errors
	cases    []readmecode.Case
	breakage *breakage
	dir      string

	err     error // preparing or starting the block failed
	ready   time.Duration
	results []result
}

type result struct {
	name string
	err  error
	took time.Duration
}

// brokenJob breaks a copy of d's text as b says.
func brokenJob(t *testing.T, d doc, lang readmecode.Lang, b breakage) *job {
	t.Helper()
	if n := strings.Count(d.text, b.old); n != 1 {
		t.Fatalf("%s, %s, %s: the document holds the text this breakage replaces %d times, want once; update the breakage to the block as it is now:\n%s", d.name, lang, b.name, n, b.old)
	}
	broken, err := d.extract(strings.Replace(d.text, b.old, b.new, 1))
	if err != nil {
		t.Fatal(err)
	}
	c, ok := readmecode.CaseNamed(b.caseName)
	if !ok {
		t.Fatalf("%s, %s: no case %q", lang, b.name, b.caseName)
	}
	dir := t.TempDir()
	return &job{
		name: d.name + "/" + string(lang) + "/broken copy/" + b.name, lang: lang, block: broken[lang],
		readme: filepath.Join(dir, "README.md"), cases: []readmecode.Case{c}, breakage: &b, dir: dir,
	}
}

// run prepares and starts the block, and runs its cases in order.
func (j *job) run(ctx context.Context, rt runtimes, srv *motoserver.Server, sm *secretsmanager.Client) {
	start := time.Now()
	startCtx, cancel := context.WithTimeout(ctx, caseTimeout)
	defer cancel()
	p, err := rt.prepare(startCtx, j.lang, j.block, j.readme, j.dir)
	if err != nil {
		j.err = err
		return
	}
	prog, err := p.Start(startCtx, srv.Env())
	if err != nil {
		j.err = err
		return
	}
	defer prog.Close()
	j.ready = time.Since(start)
	for _, c := range j.cases {
		ctx, cancel := context.WithTimeout(ctx, caseTimeout)
		began := time.Now()
		err := readmecode.Run(ctx, sm, prog, c)
		cancel()
		j.results = append(j.results, result{c.Name, err, time.Since(began)})
	}
}

// report turns the job's results into subtests: each case must pass on
// the README's block, and the one case must fail, as said, on a broken
// copy.
func (j *job) report(t *testing.T) {
	need(t, j.err)
	t.Logf("the block (README line %d) was ready to run after %v", j.block.Line, j.ready.Round(time.Millisecond))
	if j.breakage == nil {
		for _, r := range j.results {
			t.Run(r.name, func(t *testing.T) {
				t.Logf("took %v", r.took.Round(time.Millisecond))
				if r.err != nil {
					t.Error(r.err)
				}
			})
		}
		return
	}
	r, b := j.results[0], j.breakage
	switch {
	case r.err == nil:
		t.Errorf("case %q passed on a README copy with the %s block's %s; want it to fail", r.name, j.lang, b.name)
	case !b.failure.MatchString(r.err.Error()):
		t.Errorf("case %q on the broken copy failed with\n%v\nwant a failure matching /%s/", r.name, r.err, b.failure)
	default:
		first, _, _ := strings.Cut(r.err.Error(), "\n")
		t.Logf("the broken copy fails as it should, in %v: %s", r.took.Round(time.Millisecond), first)
	}
}

// runtimes is what the blocks run with, found once for all jobs.
type runtimes struct {
	python        string
	pyErr         error
	node, modules string
	nodeErr       error
	root          string
}

// findRuntimes looks for python3 with boto3 and for node, and installs the
// Node.js SDK once (outside the repository) when node is there.
func findRuntimes(t *testing.T) runtimes {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 6*time.Minute)
	defer cancel()
	var rt runtimes
	rt.python, rt.pyErr = readmecode.CheckPython(ctx)
	var npm string
	if rt.node, npm, rt.nodeErr = readmecode.CheckNode(ctx); rt.nodeErr == nil {
		rt.modules, rt.nodeErr = readmecode.InstallSDK(ctx, npm, readmecode.DefaultCacheDir(), os.Stderr)
	}
	var err error
	if rt.root, err = repodoc.Root(); err != nil {
		t.Fatal(err)
	}
	return rt
}

// prepare makes block ready to run in dir; an error wrapping
// readmecode.ErrUnavailable means its runtime is missing.
func (rt runtimes) prepare(ctx context.Context, lang readmecode.Lang, block readmecode.Block, readmePath, dir string) (*readmecode.Prepared, error) {
	switch lang {
	case readmecode.Python:
		if rt.pyErr != nil {
			return nil, rt.pyErr
		}
		return readmecode.PreparePython(block, rt.python, dir)
	case readmecode.Node:
		if rt.nodeErr != nil {
			return nil, rt.nodeErr
		}
		return readmecode.PrepareNode(block, rt.node, rt.modules, dir)
	case readmecode.Go:
		return readmecode.PrepareGo(ctx, block, readmePath, rt.root, dir)
	}
	return nil, fmt.Errorf("no way to run a %s block", lang)
}

// need skips the test when err says a runtime is missing, or fails it
// under CI=true, where every block must run; any other error fails it.
func need(t *testing.T, err error) {
	t.Helper()
	switch {
	case errors.Is(err, readmecode.ErrUnavailable) && os.Getenv("CI") == "true":
		t.Fatalf("%v (required under CI=true)", err)
	case errors.Is(err, readmecode.ErrUnavailable):
		t.Skipf("running the README's blocks needs it: %v", err)
	case err != nil:
		t.Fatal(err)
	}
}
