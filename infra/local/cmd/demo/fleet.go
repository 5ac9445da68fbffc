package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/stack"
	"github.com/tokenrotator/tokenrotator/infra/ops"
)

// member is one integration the demo adds.
type member struct {
	// name is the integration's; short says what it is in a few words,
	// about says it in full (with verbose).
	name, short, about string
	// credentials is the credentials secret's JSON.
	credentials map[string]string
	// failing says the first rotation must fail.
	failing bool
}

// fleet adds four integrations with the integration command's code (what
// make integration-add runs), one IMS-like, one Auth0-like on a second
// token endpoint, one private_key_jwt whose key is in KMS (signed.go), one
// with credentials the provider refuses; then forces
// them all (make rotate). By default it shows one line per integration
// and the failing one's error once; with verbose, the commands' output and
// each token secret.
func fleet(ctx context.Context, t teller, st *stack.Stack) error {
	members, err := startFleetProviders(ctx, st)
	if err != nil {
		return err
	}
	t.step("a fleet: four integrations added with make integration-add's code, then all forced as make rotate does")
	var failure string // the failing member's error, said once
	for _, m := range members {
		t.detail("adding %s: %s", m.name, m.about)
		b, err := json.Marshal(m.credentials)
		if err != nil {
			return fmt.Errorf("encoding %s's credentials: %w", m.name, err)
		}
		printed, err := st.AddIntegration(ctx, m.name, b)
		t.block(printed)
		var first *ops.FirstRotationError
		switch {
		case m.failing && errors.As(err, &first):
			t.detail("(the command exits 1: %v)", err)
			failure = first.Err.Error()
			var fe *ops.FunctionError
			if errors.As(first.Err, &fe) {
				failure = fe.Message // the function's error alone, without the command's wrapping
			}
		case m.failing:
			return fmt.Errorf("adding %s: error = %v, want its first rotation to fail", m.name, err)
		case err != nil:
			return fmt.Errorf("adding %s: %w", m.name, err)
		}
	}

	before, err := tokens(ctx, st, members)
	if err != nil {
		return err
	}
	t.detail("forcing every integration, as make rotate does: the function's own (default) and the four added")
	printed, err := st.Ops(ctx, "rotate")
	t.block(printed)
	var fe *ops.FunctionError
	if !errors.As(err, &fe) {
		return fmt.Errorf("forced run: error = %v, want a function error naming legacy", err)
	}
	t.detail("(the command exits 1: %v)", err)
	if !strings.Contains(fe.Message, "; legacy: ") || !strings.Contains(fe.Message, "1 of 5 integrations failed (4 rotated") {
		return fmt.Errorf("forced run: function error %q, want legacy alone to fail, of 5", fe.Message)
	}

	t.detail("each integration's token secret after the forced run (the function's error drops the others' results, so they are read here; access tokens masked)")
	after, err := tokens(ctx, st, members)
	if err != nil {
		return err
	}
	all := append([]member{{name: "default", short: "the function's own integration"}}, members...)
	for _, m := range all {
		b, a := before[m.name], after[m.name]
		outcome := "rotated"
		switch {
		case a.AccessToken == "":
			outcome = "no token"
		case a.VersionID == b.VersionID:
			outcome = "unchanged"
		}
		t.detail("  %-8s %-9s %s", m.name, outcome, describe(a))
		if want := map[bool]string{true: "no token", false: "rotated"}[m.name == "legacy"]; outcome != want {
			return fmt.Errorf("forced run: %s %s, want %s", m.name, outcome, want)
		}
	}
	for _, m := range all {
		if m.failing {
			t.line("%-8s failed   %s; both commands exit 1 naming it:", m.name, m.short)
			t.wrapped("                  ", failure)
			continue
		}
		t.line("%-8s rotated  %s, expires %s", m.name, m.short, after[m.name].Expiry.UTC().Format(minute))
	}
	return nil
}

// startFleetProviders registers the fleet's clients: reports and legacy
// with the stack's IMS emulator (legacy with a secret other than the one
// stored), billing with a second emulator playing Auth0, signed with a
// third playing Okta (signedMember).
func startFleetProviders(ctx context.Context, st *stack.Stack) ([]member, error) {
	reports, billing := stack.RandomSecret(), stack.RandomSecret()
	if err := st.IMS.SetClient("reports-client", imsemu.Client{Secrets: []string{reports}}); err != nil {
		return nil, err
	}
	if err := st.IMS.SetClient("legacy-client", imsemu.Client{Secrets: []string{stack.RandomSecret()}}); err != nil {
		return nil, err
	}
	auth0, _ := imsemu.ProfileNamed("auth0")
	prov, err := st.StartProvider(auth0, map[string]imsemu.Client{"billing-client": {Secrets: []string{billing}, Scopes: []string{"read:invoices"}}})
	if err != nil {
		return nil, err
	}
	signed, err := signedMember(ctx, st)
	if err != nil {
		return nil, err
	}
	return []member{
		{name: "reports", short: "IMS-like, on the function's token endpoint and scope",
			about:       `IMS-like, the function's default token URL and scope; credentials {"client_id", "client_secret"}`,
			credentials: map[string]string{"client_id": "reports-client", "client_secret": reports}},
		{name: "billing", short: "Auth0-like, its own token_url, scope, basic auth and audience",
			about: "Auth0-like, on a second token endpoint (" + prov.TokenURL() + `); credentials add "token_url", "scope", "token_auth": "basic", "token_params": "audience=https://billing.example.com/"`,
			credentials: map[string]string{"client_id": "billing-client", "client_secret": billing, "token_url": prov.TokenURL(),
				"scope": "read:invoices", "token_auth": "basic", "token_params": "audience=https://billing.example.com/"}},
		{name: "legacy", short: "a client secret the provider refuses, it stays added",
			about:       "a client secret the provider no longer accepts: the first rotation fails, and the integration stays added",
			credentials: map[string]string{"client_id": "legacy-client", "client_secret": stack.RandomSecret()}, failing: true},
		signed,
	}, nil
}

// tokens reads the token secret of the function's own integration
// ("default") and of each member.
func tokens(ctx context.Context, st *stack.Stack, members []member) (map[string]stack.StoredToken, error) {
	own, err := st.StoredToken(ctx)
	if err != nil {
		return nil, err
	}
	toks := map[string]stack.StoredToken{"default": own}
	for _, m := range members {
		if toks[m.name], err = st.IntegrationToken(ctx, m.name); err != nil {
			return nil, err
		}
	}
	return toks, nil
}

// describe shows a stored token without its access token.
func describe(tok stack.StoredToken) string {
	if tok.AccessToken == "" {
		return "its token secret still holds {}"
	}
	return fmt.Sprintf("version %s, client %s, expires %s, access_token %s",
		tok.VersionID, tok.ClientID, tok.Expiry.Format(time.RFC3339), stack.Mask(tok.AccessToken))
}
