package stack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/stack"
	"github.com/tokenrotator/tokenrotator/infra/ops"
	"github.com/tokenrotator/tokenrotator/infra/status"
)

// TestStatus shows make status's screen for the local stack after real
// runs of the bootstrap (whose metric lines reach moto_server through the
// stack's forwarder), then again after an integration failed its first
// rotation and another's token was replaced by an expired one: the check
// fails, naming both, and no client secret or token is ever on the screen.
func TestStatus(t *testing.T) {
	st := startStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	begin := time.Now()

	secrets := map[string]string{"acme": stack.RandomSecret(), "legacy": stack.RandomSecret()}
	if err := st.IMS.SetClient("acme-client", imsemu.Client{Secrets: []string{secrets["acme"]}}); err != nil {
		t.Fatal(err)
	}
	// legacy's stored secret is one the provider does not accept.
	if err := st.IMS.SetClient("legacy-client", imsemu.Client{Secrets: []string{stack.RandomSecret()}}); err != nil {
		t.Fatal(err)
	}
	creds := func(name string) []byte {
		b, _ := json.Marshal(map[string]string{"client_id": name + "-client", "client_secret": secrets[name]})
		return b
	}
	if out, err := st.AddIntegration(ctx, "acme", creds("acme")); err != nil {
		t.Fatalf("AddIntegration(acme) error = %v\n%s", err, out)
	}
	if _, err := st.InvokeEvent(ctx, "scheduler.json"); err != nil {
		t.Fatalf("scheduled run: error = %v", err)
	}

	var printed strings.Builder
	screen, ok, err := showStatus(ctx, st)
	printed.WriteString(screen)
	if err != nil || !ok {
		t.Fatalf("Status() = %v, %v; want true, nil\n%s", ok, err, screen)
	}
	def, err := st.StoredToken(ctx)
	if err != nil {
		t.Fatal(err)
	}
	acme, err := st.IntegrationToken(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	rows := table(t, screen)
	checkRow(t, rows, "default", map[string]string{"CLIENT": stack.ClientID, "CHECK": "ok", "ENGINE": "scheduler", "CURRENT VERSION": def.VersionID, "PREVIOUS VERSION": "-"})
	checkRow(t, rows, "acme", map[string]string{"CLIENT": "acme-client", "CHECK": "ok", "ENGINE": "scheduler", "CURRENT VERSION": acme.VersionID})
	for _, name := range []string{"default", "acme"} {
		if got := rows[name]["LAST RUN (2d00h)"]; !strings.HasPrefix(got, "succeeded ") {
			t.Errorf("%s: LAST RUN = %q, want succeeded (the bootstrap's metric lines, through moto_server)", name, got)
		}
		if got := rows[name]["NEXT RUN WITHIN"]; got != "23h00m" && got != "22h59m" {
			t.Errorf("%s: NEXT RUN WITHIN = %q, want about 23h (the last run + rate(23 hours))", name, got)
		}
	}
	if rows["acme"]["PREVIOUS VERSION"] == "-" {
		t.Errorf("acme: PREVIOUS VERSION = -, want the {} version make integration-add created")
	}
	for _, want := range []string{"\nalarms in ALARM: none\n", "\ndead-letter queue: 0 messages\n", "\nall 2 tokens outlive the next run\n"} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}

	// legacy fails its first rotation; acme's token is replaced by an
	// expired one, and its stale alarm goes off.
	if _, err := st.AddIntegration(ctx, "legacy", creds("legacy")); !errors.As(err, new(*ops.FirstRotationError)) {
		t.Fatalf("AddIntegration(legacy) error = %v, want a *ops.FirstRotationError", err)
	}
	const expiredSentinel = "SENTINEL-EXPIRED-ACCESS-TOKEN-e41c"
	expired, _ := json.Marshal(map[string]string{"access_token": expiredSentinel, "token_type": "bearer", "client_id": "acme-client",
		"issued_at": time.Now().Add(-25 * time.Hour).UTC().Format(time.RFC3339), "expiry": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)})
	if _, err := st.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(stack.IntegrationSecretPrefix + "acme"), SecretString: aws.String(string(expired)),
	}); err != nil {
		t.Fatal(err)
	}
	cw := cloudwatch.NewFromConfig(st.Moto.AWSConfig(), ops.CloudWatchOptions(st.Moto.AWSConfig()))
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String(ops.AlarmName(stack.StackName, "acme")), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String("set by TestStatus"),
	}); err != nil {
		t.Fatal(err)
	}

	screen, ok, err = showStatus(ctx, st)
	printed.WriteString(screen)
	if err != nil || ok || status.ExitCode(ok, err) != status.ExitTokens {
		t.Fatalf("Status() = %v, %v; want false, nil (exit %d)\n%s", ok, err, status.ExitTokens, screen)
	}
	rows = table(t, screen)
	checkRow(t, rows, "default", map[string]string{"CHECK": "ok", "CURRENT VERSION": def.VersionID})
	checkRow(t, rows, "acme", map[string]string{"CHECK": "EXPIRED", "EXPIRES IN": "expired 1h00m ago", "PREVIOUS VERSION": acme.VersionID})
	checkRow(t, rows, "legacy", map[string]string{"CLIENT": "-", "CHECK": "NO TOKEN", "EXPIRES IN": "no token yet ({})"})
	if got := rows["legacy"]["LAST RUN (2d00h)"]; !strings.HasPrefix(got, "failed ") {
		t.Errorf("legacy: LAST RUN = %q, want failed", got)
	}
	for _, want := range []string{
		"\nalarms in ALARM: 1\n  tokenrotator-integration-acme-stale  since ",
		"\n2 of 3 tokens expire before the next run: acme (expired 1h00m ago), legacy (no token yet ({}))\n",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("screen lacks %q:\n%s", want, screen)
		}
	}
	t.Logf("the screen, %v after the stack started:\n%s", time.Since(begin).Round(time.Millisecond), screen)

	sentinels := map[string]string{"the stack's client secret": st.ClientSecret(), "the expired token": expiredSentinel}
	for name, s := range secrets {
		sentinels[name+"'s client secret"] = s
	}
	for _, iss := range st.IMS.Issued() {
		sentinels["a token issued to "+iss.ClientID] = iss.AccessToken
	}
	for what, s := range sentinels {
		if strings.Contains(printed.String(), s) {
			t.Errorf("the status screen holds %s", what)
		}
	}
}

func showStatus(ctx context.Context, st *stack.Stack) (string, bool, error) {
	var buf bytes.Buffer
	ok, err := st.Status(ctx, &buf)
	return buf.String(), ok, err
}

// table reads the screen's integration rows into name -> column -> value,
// by the header's column positions.
func table(t *testing.T, screen string) map[string]map[string]string {
	t.Helper()
	lines := strings.Split(screen, "\n")
	h := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "INTEGRATION ") {
			h = i
			break
		}
	}
	if h < 0 {
		t.Fatalf("no table on the screen:\n%s", screen)
	}
	head := lines[h]
	var names []string
	var starts []int
	for _, f := range strings.Split(head, "  ") {
		if f = strings.TrimSpace(f); f != "" {
			names = append(names, f)
			starts = append(starts, strings.Index(head, f))
		}
	}
	rows := map[string]map[string]string{}
	for _, l := range lines[h+1:] {
		if strings.HasPrefix(l, "rule:") {
			break
		}
		if strings.Contains(l, ": cannot read") || strings.HasPrefix(l, "last runs:") {
			continue // a note
		}
		row := map[string]string{}
		for i, name := range names {
			end := len(l)
			if i+1 < len(starts) {
				end = starts[i+1]
			}
			row[name] = strings.TrimSpace(l[starts[i]:end])
		}
		rows[row["INTEGRATION"]] = row
	}
	return rows
}

func checkRow(t *testing.T, rows map[string]map[string]string, name string, want map[string]string) {
	t.Helper()
	row, ok := rows[name]
	if !ok {
		t.Errorf("no row for %s among %d", name, len(rows))
		return
	}
	for col, v := range want {
		if row[col] != v {
			t.Errorf("%s: %s = %q, want %q", name, col, row[col], v)
		}
	}
}
