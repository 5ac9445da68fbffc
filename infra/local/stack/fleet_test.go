package stack_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/stack"
	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// TestFleet adds three integrations to the running function through the
// integration command's code (as make integration-add does), one per
// provider and one with wrong credentials, then forces them all, rotates
// one, fixes and removes the wrong one; the real bootstrap does the work.
func TestFleet(t *testing.T) {
	st := startStack(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	secrets := map[string]string{"reports": stack.RandomSecret(), "billing": stack.RandomSecret(), "legacy": stack.RandomSecret()}
	if err := st.IMS.SetClient("reports-client", imsemu.Client{Secrets: []string{secrets["reports"]}}); err != nil {
		t.Fatal(err)
	}
	// legacy's stored secret is one the provider no longer accepts.
	if err := st.IMS.SetClient("legacy-client", imsemu.Client{Secrets: []string{stack.RandomSecret()}}); err != nil {
		t.Fatal(err)
	}
	auth0, _ := imsemu.ProfileNamed("auth0")
	prov, err := st.StartProvider(auth0, map[string]imsemu.Client{"billing-client": {Secrets: []string{secrets["billing"]}, Scopes: []string{"read:invoices"}}})
	if err != nil {
		t.Fatal(err)
	}
	credentials := map[string]map[string]string{
		"reports": {"client_id": "reports-client", "client_secret": secrets["reports"]},
		"billing": {"client_id": "billing-client", "client_secret": secrets["billing"], "token_url": prov.TokenURL(),
			"scope": "read:invoices", "token_auth": "basic", "token_params": "audience=https://billing.example.com/"},
		"legacy": {"client_id": "legacy-client", "client_secret": secrets["legacy"]},
	}
	var printed strings.Builder
	for _, name := range []string{"reports", "billing", "legacy"} {
		b, _ := json.Marshal(credentials[name])
		out, err := st.AddIntegration(ctx, name, b)
		printed.WriteString(out)
		if name == "legacy" {
			var first *ops.FirstRotationError
			if !errors.As(err, &first) || !strings.Contains(out, "legacy: first rotation failed: ") || !strings.Contains(out, "invalid_client") {
				t.Fatalf("AddIntegration(legacy) error = %v, want a *ops.FirstRotationError, and output naming invalid_client:\n%s", err, out)
			}
			continue
		}
		if err != nil {
			t.Fatalf("AddIntegration(%s) error = %v\n%s\n%s", name, err, out, st.Output())
		}
		if !strings.Contains(out, name+": rotated: token expires ") {
			t.Errorf("AddIntegration(%s) output lacks the outcome:\n%s", name, out)
		}
	}

	// Each token came from its own provider, with its own settings.
	checkStored(t, st, "reports", st.IMS.Issued())
	checkStored(t, st, "billing", prov.Emu.Issued())
	last, _ := prov.Emu.LastRequest()
	if !last.BasicAuth || last.Form.Get("audience") != "https://billing.example.com/" || last.Form.Get("scope") != "read:invoices" {
		t.Errorf("billing's token request: basic %v, audience %q, scope %q; want true, the credentials' audience and scope",
			last.BasicAuth, last.Form.Get("audience"), last.Form.Get("scope"))
	}
	if tok, err := st.IntegrationToken(ctx, "legacy"); err != nil || tok.AccessToken != "" {
		t.Errorf("legacy's token secret: %v, %v; want {} (no token)", tok, err)
	}
	cw := cloudwatch.NewFromConfig(st.Moto.AWSConfig(), ops.CloudWatchOptions(st.Moto.AWSConfig()))
	alarms, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNamePrefix: &[]string{stack.StackName + "-integration-"}[0]})
	if err != nil || len(alarms.MetricAlarms) != 3 {
		t.Errorf("stale alarms: %d, %v; want 3", len(alarms.MetricAlarms), err)
	}

	// Force all: the function's own integration and the two good ones
	// rotate; legacy fails, by name.
	before := versions(t, st, "reports", "billing")
	out, err := st.Ops(ctx, "rotate")
	printed.WriteString(out)
	var fe *ops.FunctionError
	if !errors.As(err, &fe) || !strings.Contains(fe.Message, "1 of 4 integrations failed (3 rotated, 0 fresh") || !strings.Contains(fe.Message, "legacy: ") {
		t.Fatalf("rotate: error = %v, want a function error naming legacy among 4\n%s", err, out)
	}
	for _, want := range []string{"legacy       failed", "1 failed; the other 3 succeeded (3 rotated, 0 fresh)"} {
		if !strings.Contains(out, want) {
			t.Errorf("rotate output lacks %q:\n%s", want, out)
		}
	}
	for name, v := range versions(t, st, "reports", "billing") {
		if v == before[name] {
			t.Errorf("%s: version %s unchanged by a forced run", name, v)
		}
	}

	// Fix legacy's credentials at the provider, retry it alone, remove it.
	if err := st.IMS.SetClient("legacy-client", imsemu.Client{Secrets: []string{secrets["legacy"]}}); err != nil {
		t.Fatal(err)
	}
	out, err = st.Ops(ctx, "rotate", "-name", "legacy")
	printed.WriteString(out)
	if err != nil || !strings.Contains(out, "legacy       rotated") {
		t.Fatalf("rotate -name legacy after the fix: error = %v\n%s", err, out)
	}
	out, err = st.Ops(ctx, "remove", "-name", "legacy")
	printed.WriteString(out)
	if err != nil {
		t.Fatalf("remove legacy: error = %v\n%s", err, out)
	}
	if _, err := st.IntegrationToken(ctx, "legacy"); err == nil {
		t.Errorf("legacy's token secret is still readable after remove")
	}

	// The others are untouched, and a forced run now succeeds for all.
	out, err = st.Ops(ctx, "rotate")
	printed.WriteString(out)
	if err != nil {
		t.Fatalf("rotate after removing legacy: error = %v\n%s", err, out)
	}
	for _, want := range []string{"billing      rotated", "default      rotated", "reports      rotated", "3 rotated, 0 fresh, 0 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("rotate output lacks %q:\n%s", want, out)
		}
	}

	sentinels := map[string]string{"the stack's client secret": st.ClientSecret()}
	for name, s := range secrets {
		sentinels[name+"'s client secret"] = s
	}
	for _, iss := range append(st.IMS.Issued(), prov.Emu.Issued()...) {
		sentinels["a token issued to "+iss.ClientID] = iss.AccessToken
	}
	for what, s := range sentinels {
		if strings.Contains(printed.String(), s) {
			t.Errorf("the integration command printed %s", what)
		}
		if strings.Contains(st.Output(), s) {
			t.Errorf("the function's output holds %s", what)
		}
	}
}

// checkStored checks that integration name's token secret holds the last
// token issued among issued.
func checkStored(t *testing.T, st *stack.Stack, name string, issued []imsemu.Issued) {
	t.Helper()
	tok, err := st.IntegrationToken(context.Background(), name)
	if err != nil {
		t.Fatalf("IntegrationToken(%s) error = %v", name, err)
	}
	if len(issued) == 0 || tok.AccessToken != issued[len(issued)-1].AccessToken || tok.ClientID != issued[len(issued)-1].ClientID {
		t.Errorf("%s's stored token (%s) is not the last one issued", name, tok)
	}
}

func versions(t *testing.T, st *stack.Stack, names ...string) map[string]string {
	t.Helper()
	v := map[string]string{}
	for _, n := range names {
		tok, err := st.IntegrationToken(context.Background(), n)
		if err != nil {
			t.Fatalf("IntegrationToken(%s) error = %v", n, err)
		}
		v[n] = tok.VersionID
	}
	return v
}
