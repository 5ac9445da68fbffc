package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/stack"
	"github.com/tokenrotator/tokenrotator/infra/local/syncbuf"
	"github.com/tokenrotator/tokenrotator/infra/repodoc"
)

// maxLines is what the demo may print by default: make run's screen is 40
// lines, and make echoes the command line first.
const maxLines = 40 - 1

// TestDemo tells make run's story once, keeping what it prints by default
// apart from what it prints with -verbose (the same lines and the
// detail), and checks what a newcomer reads: one screen by default, each
// flow in a line or two, the error once, no raw result; the detail with
// -verbose; in both, the consumer reading the token through tokensecret
// and the next command last, and no token or client secret on any line.
func TestDemo(t *testing.T) {
	if !motoserver.Available() {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required under CI=true; %s", motoserver.Binary, motoserver.InstallHint)
		}
		t.Skipf("the demo needs %s; %s", motoserver.Binary, motoserver.InstallHint)
	}
	plain, verbose := tellStory(t)
	lines := strings.Split(strings.TrimRight(plain, "\n"), "\n")
	if len(lines) > maxLines {
		t.Errorf("default output has %d lines, want at most %d:\n%s", len(lines), maxLines, plain)
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 120 {
			t.Errorf("default line of %d characters, want at most 120: %q", n, l)
		}
	}
	for _, want := range []string{
		"    first run: rotated, expires ",
		"    second run: fresh, nothing written",
		"    4 steps in ",
		", AWSCURRENT moved once: to version ",
		"==> client-secret rotation: ",
		": secrets at the emulator 1 → 2 → 1, AWSCURRENT on the new one (uuid ",
		" retired by finishSecret, unused since the switch; the next token run minted with the new one",
		"    default  rotated  ",
		"    reports  rotated  ",
		"    billing  rotated  ",
		"    legacy   failed   ",
		"    signed   rotated  Okta-like, private_key_jwt",
		"    make status: 1 of 5 tokens expires before the next run: legacy (no token yet ({})): exits 1",
		"    make integration-remove NAME=legacy, then make status: all 4 tokens outlive the next run: exits 0",
	} {
		if !strings.Contains(plain, want) {
			t.Errorf("default output lacks %q:\n%s", want, plain)
		}
	}
	for _, detail := range []string{`{"integration":`, "stages after", "INTEGRATION  ", "credentials secret tagged", "SECRETS AT THE EMULATOR"} {
		if strings.Contains(plain, detail) {
			t.Errorf("default output holds %q, want it only with -verbose", detail)
		}
	}
	if n := strings.Count(plain, "invalid_client"); n != 1 {
		t.Errorf("default output says legacy's error %d times, want once:\n%s", n, plain)
	}
	checkEnding(t, "default", lines)

	vlines := strings.Split(strings.TrimRight(verbose, "\n"), "\n")
	if len(vlines) < 2*len(lines) {
		t.Errorf("-verbose output has %d lines, want the detail beyond the default's %d", len(vlines), len(lines))
	}
	for _, want := range []string{
		`result: {"integration":"default","rotated":true`, // the first run's result
		`"rotated":false`,                // the second's
		"    stages after finishSecret:", // native rotation's stage listings
		"SECRETS AT THE EMULATOR",        // the client-secret rotation's table
		"finishSecret  new ",             // its last row
		"minted with secret ",            // the emulator's record of the next token
		"INTEGRATION  OUTCOME  EXPIRY",   // make rotate's table
		"credentials secret tagged",      // make integration-add's lines
		"INTEGRATION  CLIENT",            // make status's screen
		"legacy: removed",                // make integration-remove's lines
		"the token as the library prints it: tokensecret.Token{access_token: REDACTED",
	} {
		if !strings.Contains(verbose, want) {
			t.Errorf("-verbose output lacks %q", want)
		}
	}
	checkEnding(t, "-verbose", vlines)
}

// TestNextLinePointsAtTheREADME checks that the section the demo's last
// line names is a heading of the top-level README, on its first screen
// (firstScreen lines), where a newcomer finds the deploy commands.
func TestNextLinePointsAtTheREADME(t *testing.T) {
	readme, err := repodoc.Read(repodoc.Top)
	if err != nil {
		t.Fatal(err)
	}
	heading := regexp.MustCompile(`^#+ ` + regexp.QuoteMeta(deploySection) + `$`)
	for i, line := range strings.Split(readme, "\n") {
		if heading.MatchString(line) {
			if i+1 > firstScreen {
				t.Errorf("%s: heading %q, which make run's last line points at, is at line %d, past the first screen (%d lines)", repodoc.Top, deploySection, i+1, firstScreen)
			}
			return
		}
	}
	t.Errorf("%s has no heading %q, which make run's last line points at", repodoc.Top, deploySection)
}

// firstScreen is how many lines of the top-level README a newcomer reads
// without scrolling far (issue 19).
const firstScreen = 120

// checkEnding checks that the story ends with the consumer's lines, in
// order (with -verbose, detail lines may come between), and then the next
// command.
func checkEnding(t *testing.T, mode string, lines []string) {
	t.Helper()
	wants := []string{
		"==> a consumer reads the token with functions/tokensecret (tokensecret.New, then Get)",
		"    Get: a bearer token ",
		"    headers it adds to each request: Authorization: Bearer ",
		"    a second Get: from its cache",
	}
	i := 0
	for _, l := range lines {
		if i < len(wants) && strings.HasPrefix(l, wants[i]) {
			if i == 2 && !strings.Contains(l, "X-Api-Key: demo-client") {
				t.Errorf("%s output's consumer headers line = %q, want X-Api-Key: demo-client in it", mode, l)
			}
			i++
		}
	}
	if i < len(wants) {
		t.Errorf("%s output lacks the consumer's line %q (or has it out of order)", mode, wants[i])
	}
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "next: make deploy (README: Deploy)") {
		t.Errorf("%s output's last line = %q, want the next: make deploy line", mode, last)
	}
}

// tellStory starts a stack, tells the story on it and returns what it
// printed by default and with -verbose, after checking that no client
// secret or access token the stack holds or issued is in either.
func tellStory(t *testing.T) (plain, verbose string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out, all syncbuf.Buffer
	tl := teller{out: io.MultiWriter(&out, &all), more: &all}
	st, err := startStack(ctx, tl, t.TempDir())
	if err != nil {
		t.Fatalf("startStack() error = %v", err)
	}
	defer st.Close()
	if err := tell(ctx, tl, st); err != nil {
		t.Fatalf("tell() error = %v\noutput:\n%s\nfunction's output:\n%s", err, all.String(), tail(st.Output(), 20))
	}
	secrets := storedSecrets(ctx, t, st)
	for _, iss := range st.IMS.Issued() {
		secrets = append(secrets, iss.AccessToken)
	}
	// The function's token, four integrations' and their versions: a leak
	// check that found none of them would prove nothing.
	if len(secrets) < 10 {
		t.Fatalf("found %d secrets to look for, want the stack's client secrets and tokens", len(secrets))
	}
	for _, s := range secrets {
		if strings.Contains(all.String(), s) {
			t.Errorf("output holds a client secret or access token (%s)", stack.Mask(s))
		}
	}
	return out.String(), all.String()
}

// storedSecrets returns every client_secret and access_token in every
// version of every secret in the stack's Secrets Manager, and the stack's
// own client secret.
func storedSecrets(ctx context.Context, t *testing.T, st *stack.Stack) []string {
	t.Helper()
	found := []string{st.ClientSecret()}
	list, err := st.Secrets.ListSecrets(ctx, &secretsmanager.ListSecretsInput{MaxResults: aws.Int32(100)})
	if err != nil {
		t.Fatalf("ListSecrets() error = %v", err)
	}
	for _, s := range list.SecretList {
		versions, err := st.Secrets.ListSecretVersionIds(ctx, &secretsmanager.ListSecretVersionIdsInput{SecretId: s.ARN, IncludeDeprecated: aws.Bool(true)})
		if err != nil {
			t.Fatalf("ListSecretVersionIds(%s) error = %v", aws.ToString(s.Name), err)
		}
		for _, v := range versions.Versions {
			val, err := st.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: s.ARN, VersionId: v.VersionId})
			if err != nil {
				t.Fatalf("GetSecretValue(%s, %s) error = %v", aws.ToString(s.Name), aws.ToString(v.VersionId), err)
			}
			var fields map[string]any
			if err := json.Unmarshal([]byte(aws.ToString(val.SecretString)), &fields); err != nil {
				t.Fatalf("secret %s version %s is not JSON: %v", aws.ToString(s.Name), aws.ToString(v.VersionId), err)
			}
			for _, key := range []string{"client_secret", "access_token"} {
				if s, ok := fields[key].(string); ok && s != "" {
					found = append(found, s)
				}
			}
		}
	}
	return found
}
