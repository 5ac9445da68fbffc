package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/tokenrotator/tokenrotator/infra/local/rotationservice"
	"github.com/tokenrotator/tokenrotator/infra/local/stack"
)

// clientSecret plays one rotation of the stack's own client secret:
// rotationservice runs the four steps on the credentials secret, each an
// invocation of the same bootstrap (the template's
// ClientSecretRotatorFunction runs it), which adds a secret at the IMS
// emulator's management calls, tests it, moves AWSCURRENT and retires the
// old one. A forced token run then mints with the new secret, which the
// emulator's record of the token proves. By default it says so in two
// lines; with verbose, each step's reason and a table of the secrets at
// the emulator and the credentials secret's versions after each step.
func clientSecret(ctx context.Context, t teller, st *stack.Stack) error {
	t.step("client-secret rotation: the same four steps on the credentials secret, Adobe's management API emulated")
	before, _ := st.IMS.Secrets(stack.ClientID)
	if len(before) != 1 {
		return fmt.Errorf("client-secret rotation: the emulator holds %d client secrets before it, want 1", len(before))
	}
	tb := csTable{old: before[0].UUID}
	svc := st.RotationService(func(step string, res stack.Result, err error) {
		if err != nil {
			t.detail("%s failed: %v", step, err)
			return
		}
		t.detail("%s: %s (%d ms)", step, res.Reason, res.DurationMs)
	})
	start := time.Now()
	rot, err := svc.Begin(ctx, stack.CredentialsSecretID)
	if err != nil {
		return fmt.Errorf("client-secret rotation: %w", err)
	}
	tb.newVersion = rot.Version
	if err := tb.add(ctx, st, "(before)"); err != nil {
		return err
	}
	counts := []int{1}
	for _, step := range rotationservice.Steps {
		if err := svc.Step(ctx, rot, step); err != nil {
			return fmt.Errorf("client-secret rotation: %w", err)
		}
		if err := tb.add(ctx, st, step); err != nil {
			return err
		}
		if n := tb.counts[len(tb.counts)-1]; n != counts[len(counts)-1] {
			counts = append(counts, n)
		}
	}
	took := time.Since(start).Round(10 * time.Millisecond)
	t.detail("client secrets at the IMS emulator and the credentials secret's versions after each step:")
	t.block(tb.String())

	// The next token run: the emulator records which secret minted it.
	res, err := st.Invoke(ctx, []byte(`{"force": true}`))
	if err != nil {
		return fmt.Errorf("client-secret rotation: the token run after it: %w", err)
	}
	minted := ""
	for _, iss := range st.IMS.Issued() {
		if iss.DebugID == res.DebugID && res.DebugID != "" {
			minted = iss.SecretUUID
		}
	}
	after, _ := st.IMS.Secrets(stack.ClientID)
	current, err := tb.heldBy(ctx, st, "AWSCURRENT")
	if err != nil {
		return err
	}
	if len(after) != 1 || after[0].UUID != current || current == tb.old || tb.current != rot.Version || minted != current {
		return fmt.Errorf("client-secret rotation: the emulator holds %d secrets (want only the new one), AWSCURRENT is version %s holding %s (want %s, a new secret), the next token was minted with %q",
			len(after), tb.current, short(current), rot.Version, minted)
	}
	t.line("%d steps in %v: secrets at the emulator %s, AWSCURRENT on the new one (uuid %s)",
		len(rotationservice.Steps), took, joinCounts(counts), short(current))
	t.line("old secret %s retired by finishSecret, unused since the switch; the next token run minted with the new one",
		short(tb.old))
	t.detail("the next token run: version %s, minted with secret %s as the emulator records it (debug id %s)", res.VersionID, short(minted), res.DebugID)
	t.detail("the credentials secret keeps its rotation on, as with the template's ClientSecretRotation adobe and its schedule")
	return nil
}

// csTable is the client-secret rotation's table: per step, the secrets at
// the emulator (old or new, uuid, used or not) and the credentials
// secret's versions with their stages. It holds no secret.
type csTable struct {
	old        string // the uuid of the secret before the rotation
	newVersion string // the rotation's version
	current    string // the version AWSCURRENT was on at the last row
	rows       []string
	counts     []int // secrets at the emulator, per row
}

// add reads the emulator and the credentials secret and adds a row.
func (tb *csTable) add(ctx context.Context, st *stack.Stack, step string) error {
	secrets, _ := st.IMS.Secrets(stack.ClientID)
	var held []string
	for _, s := range secrets {
		which := "new"
		if s.UUID == tb.old {
			which = "old"
		}
		used := "never used"
		if !s.LastUsedAt.IsZero() {
			used = "used"
		}
		held = append(held, fmt.Sprintf("%s %s %s", which, short(s.UUID), used))
	}
	lines, err := rotationservice.Stages(ctx, st.Secrets, stack.CredentialsSecretID)
	if err != nil {
		return err
	}
	var versions []string
	for _, l := range lines {
		id, labels, _ := strings.Cut(l, ": ")
		which := "old"
		if id == tb.newVersion {
			which = "new"
		}
		if strings.Contains(labels, "AWSCURRENT") {
			tb.current = id
		}
		versions = append(versions, fmt.Sprintf("%s %s %s", which, short(id), labels))
	}
	tb.rows = append(tb.rows, step+"\t"+strings.Join(held, ", ")+"\t"+strings.Join(versions, "; "))
	tb.counts = append(tb.counts, len(secrets))
	return nil
}

// heldBy returns the client_secret_uuid of the credentials secret's
// version with stage, reading that one field only.
func (tb *csTable) heldBy(ctx context.Context, st *stack.Stack, stage string) (string, error) {
	out, err := st.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{
		SecretId: aws.String(stack.CredentialsSecretID), VersionStage: aws.String(stage)})
	if err != nil {
		return "", fmt.Errorf("client-secret rotation: reading the credentials secret's %s: %w", stage, err)
	}
	var v struct {
		UUID string `json:"client_secret_uuid"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &v); err != nil {
		return "", fmt.Errorf("client-secret rotation: the credentials secret's %s is not JSON", stage)
	}
	return v.UUID, nil
}

// String lays the rows out in columns.
func (tb *csTable) String() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "AFTER\tSECRETS AT THE EMULATOR\tCREDENTIALS SECRET'S VERSIONS")
	for _, r := range tb.rows {
		fmt.Fprintln(w, r)
	}
	_ = w.Flush()
	return b.String()
}

// joinCounts says how many secrets the emulator held as they changed:
// "1 → 2 → 1".
func joinCounts(counts []int) string {
	s := make([]string, len(counts))
	for i, n := range counts {
		s[i] = fmt.Sprint(n)
	}
	return strings.Join(s, " → ")
}

// short is an id's first 8 characters.
func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
