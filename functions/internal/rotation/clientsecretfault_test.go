package rotation_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokenrotator/tokenrotator/functions/integration"
	"github.com/tokenrotator/tokenrotator/functions/internal/oauthtoken"
	"github.com/tokenrotator/tokenrotator/infra/local/faultproxy"
	"github.com/tokenrotator/tokenrotator/infra/local/imsemu"
	"github.com/tokenrotator/tokenrotator/infra/local/motoserver"
	"github.com/tokenrotator/tokenrotator/infra/local/rotationservice"
)

// csFault is one fault of the client-secret rotation's fault table.
type csFault struct {
	name string
	step string
	// inject applies the fault; forGood: every matching call, else one.
	inject func(c *csRig, forGood bool)
	// absorbed: the step succeeds despite the fault (a lost answer the
	// step reads back).
	absorbed bool
	// onceOnly: no "for good" variant.
	onceOnly bool
}

func mgmt(method string, f imsemu.Fault, carried bool) func(c *csRig, forGood bool) {
	return func(c *csRig, forGood bool) {
		mf := imsemu.ManagementFault{Method: method, Fault: f, CarriedOut: carried}
		if forGood {
			c.ims.SetManagementFault(mf)
		} else {
			c.ims.EnqueueManagement(mf)
		}
	}
}

func smFault(target string, f faultproxy.Fault) func(c *csRig, forGood bool) {
	return func(c *csRig, forGood bool) {
		times := 1
		if forGood {
			times = 0
		}
		c.proxy.Inject(faultproxy.Rule{Target: target, Fault: f, Times: times})
	}
}

// CSFaults is the fault table: at Adobe (the emulator's management calls
// and token endpoint) and at Secrets Manager (the fault proxy).
var csFaults = []csFault{
	{name: "Adobe refuses the list", step: "createSecret", inject: mgmt(http.MethodGet, imsemu.Status(http.StatusForbidden, ""), false)},
	{name: "Adobe refuses the add", step: "createSecret", inject: mgmt(http.MethodPost, imsemu.Status(http.StatusServiceUnavailable, ""), false)},
	{name: "Adobe's answer to the add is lost", step: "createSecret", inject: mgmt(http.MethodPost, imsemu.Status(http.StatusBadGateway, ""), true), onceOnly: true},
	{name: "Secrets Manager refuses PutSecretValue", step: "createSecret", inject: smFault(faultproxy.PutSecretValue, faultproxy.InternalServiceError())},
	{name: "PutSecretValue's answer is lost", step: "createSecret", inject: smFault(faultproxy.PutSecretValue, faultproxy.LostAnswer()), absorbed: true, onceOnly: true},
	{name: "Secrets Manager refuses the describe", step: "setSecret", inject: smFault(faultproxy.DescribeSecret, faultproxy.InternalServiceError())},
	{name: "Adobe refuses the pending secret's token", step: "testSecret", inject: func(c *csRig, forGood bool) {
		if forGood {
			c.ims.SetFault(imsemu.Status(http.StatusBadRequest, ""))
		} else {
			c.ims.Enqueue(imsemu.Status(http.StatusBadRequest, ""))
		}
	}},
	{name: "Secrets Manager refuses the pending read", step: "testSecret", inject: smFault(faultproxy.GetSecretValue, faultproxy.InternalServiceError())},
	{name: "Secrets Manager refuses the switch tag", step: "finishSecret", inject: smFault(faultproxy.TagResource, faultproxy.InternalServiceError())},
	{name: "Secrets Manager refuses the stage move", step: "finishSecret", inject: smFault(faultproxy.UpdateSecretVersionStage, faultproxy.InternalServiceError())},
	{name: "the stage move's answer is lost", step: "finishSecret", inject: smFault(faultproxy.UpdateSecretVersionStage, faultproxy.LostAnswer()), absorbed: true, onceOnly: true},
	{name: "Adobe refuses the old secret's removal", step: "finishSecret", inject: mgmt(http.MethodDelete, imsemu.Status(http.StatusForbidden, ""), false)},
}

// TestClientSecretRotationFaults fails each step once and for good. After
// a failure AWSCURRENT still mints, at most two secrets exist and the
// token secret keeps a valid token; the retry with the same version (as
// Secrets Manager's) finishes the rotation, leaving only the new secret.
func TestClientSecretRotationFaults(t *testing.T) {
	moto := motoserver.ForTest(t)
	for _, f := range csFaults {
		for _, forGood := range []bool{false, true} {
			if forGood && f.onceOnly {
				continue
			}
			name := f.name + " once"
			if forGood {
				name = f.name + " for good"
			}
			t.Run(name, func(t *testing.T) {
				c := newCSRig(t, moto, true)
				ctx := context.Background()
				old := c.uuids()[0]
				rot, err := c.svc.Begin(ctx, c.credsARN)
				if err != nil {
					t.Fatal(err)
				}
				for _, step := range rotationservice.Steps[:slices.Index(rotationservice.Steps, f.step)] {
					if err := c.svc.Step(ctx, rot, step); err != nil {
						t.Fatal(err)
					}
					rot.Done = append(rot.Done, step)
				}
				f.inject(c, forGood)
				rot, err = c.svc.Continue(ctx, rot)
				t.Logf("after the fault: %v; %s", err, c.table())
				if f.absorbed {
					if err != nil {
						t.Fatalf("rotation error = %v, want the lost answer absorbed", err)
					}
				} else if err == nil || !strings.HasPrefix(err.Error(), f.step) {
					t.Fatalf("rotation error = %v, want %s to fail", err, f.step)
				}
				if n := len(c.uuids()); n > 2 {
					t.Fatalf("%d secrets at the emulator after the fault, want at most 2", n)
				}
				if forGood {
					for range 2 {
						if _, err := c.svc.Continue(ctx, rot); err == nil {
							t.Fatalf("retry succeeded, want it to fail again")
						}
					}
				}
				c.ims.ClearFault()
				c.proxy.Clear()
				c.check("after the fault")
				if !f.absorbed {
					time.Sleep(csOrphanAge) // an orphan is removed once this old
					rot, err = c.svc.Continue(ctx, rot)
					if err != nil {
						t.Fatalf("retry after the fault: %v", err)
					}
				}
				t.Logf("after the retry: %s", c.table())
				now := c.uuids()
				cur := c.value("", "AWSCURRENT")
				if len(now) != 1 || now[0] == old || cur["client_secret_uuid"] != now[0] || cur["client_secret_previous_uuid"] != old {
					t.Errorf("after the retry: emulator %v, AWSCURRENT uuid %v (previous %v); want only the new secret, current, the old one retired",
						now, cur["client_secret_uuid"], cur["client_secret_previous_uuid"])
				}
				if tag := c.tags()[integration.TagClientSecretSwitch]; tag != "" {
					t.Errorf("switch tag left after the retirement: %q", tag)
				}
				c.check("after the retry")
				c.noLeak()
			})
		}
	}
}

// TestClientSecretRotationConcurrentDeliveries delivers each step twice at
// once. At least one of each pair succeeds, a sequential retry then
// succeeds, and no third secret is ever made.
func TestClientSecretRotationConcurrentDeliveries(t *testing.T) {
	c := newCSRig(t, motoserver.ForTest(t), true)
	ctx := context.Background()
	rot, err := c.svc.Begin(ctx, c.credsARN)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range rotationservice.Steps {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range errs {
			wg.Go(func() { errs[i] = c.svc.Step(ctx, rot, step) })
		}
		wg.Wait()
		t.Logf("%s twice at once: %v, %v; %s", step, errs[0], errs[1], c.table())
		if errs[0] != nil && errs[1] != nil {
			t.Errorf("%s: both concurrent deliveries failed: %v; %v", step, errs[0], errs[1])
		}
		if n := len(c.uuids()); n > 2 {
			t.Fatalf("%s: %d secrets at the emulator, want at most 2", step, n)
		}
		if err := c.svc.Step(ctx, rot, step); err != nil {
			t.Errorf("%s: the retry after the concurrent pair failed: %v", step, err)
		}
	}
	if now := c.uuids(); len(now) != 1 || c.value("", "AWSCURRENT")["client_secret_uuid"] != now[0] {
		t.Errorf("after the rotation: emulator %v, want only the current secret", now)
	}
	c.check("after the concurrent deliveries")
	c.noLeak()
}

// TestClientSecretRotationRefusesTwoUnknown: two secrets at the credential
// and no client_secret_uuid: nothing is added, and the error says what to
// do.
func TestClientSecretRotationRefusesTwoUnknown(t *testing.T) {
	c := newCSRig(t, motoserver.ForTest(t), false)
	if err := c.ims.SetClient(csClient, imsemu.Client{Secrets: []string{csSecret, "SENTINEL-cs-other-secret"}, OrgID: csOrg, CredentialID: csCred}); err != nil {
		t.Fatal(err)
	}
	before := c.uuids()
	_, err := c.svc.Rotate(context.Background(), c.credsARN)
	if err == nil || !strings.HasPrefix(err.Error(), "createSecret") || !strings.Contains(err.Error(), "set client_secret_uuid") ||
		!strings.Contains(err.Error(), "delete the other secret in the Adobe Developer Console") {
		t.Fatalf("rotation error = %v, want createSecret's refusal saying what to do", err)
	}
	if after := c.uuids(); !slices.Equal(before, after) {
		t.Errorf("secrets %v after the refusal, want %v unchanged", after, before)
	}
	c.check("after the refusal")
	c.noLeak()
}

// TestClientSecretRotationSharedCredential: another system uses the old
// secret after the switch. Within the grace it is kept (a run in flight);
// after it, the scheduled check fails loudly and keeps it, until the
// operator's retire-now removes it.
func TestClientSecretRotationSharedCredential(t *testing.T) {
	c := newCSRig(t, motoserver.ForTest(t), true)
	ctx := context.Background()
	old := c.uuids()[0]
	rot, err := c.svc.Begin(ctx, c.credsARN)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range rotationservice.Steps[:3] {
		if err := c.svc.Step(ctx, rot, step); err != nil {
			t.Fatal(err)
		}
	}
	other := oauthtoken.New(oauthtoken.Config{TokenURL: c.imsURL + imsemu.TokenPath, Scope: "openid"})
	useOld := func() {
		if _, err := other.Fetch(ctx, oauthtoken.Credentials{ClientID: csClient, ClientSecret: csSecret}); err != nil {
			t.Errorf("the other system's token request with the old secret: %v", err)
		}
	}
	// finishSecret's list waits while the other system uses the old secret.
	c.ims.EnqueueManagement(imsemu.ManagementFault{Method: http.MethodGet, Fault: imsemu.Fault{Name: "slow list", Delay: 300 * time.Millisecond}})
	done := make(chan error)
	go func() { done <- c.svc.Step(ctx, rot, "finishSecret") }()
	time.Sleep(100 * time.Millisecond)
	useOld()
	if err := <-done; err != nil {
		t.Fatalf("finishSecret with a use within the grace: %v, want success, the old secret kept for the next check", err)
	}
	t.Logf("after finishSecret: %s", c.table())
	if !contains(c.uuids(), old) || c.tags()[integration.TagClientSecretSwitch] == "" {
		t.Fatalf("after finishSecret: emulator %v, switch tag %q; want the old secret kept and the retirement pending", c.uuids(), c.tags()[integration.TagClientSecretSwitch])
	}
	time.Sleep(csGrace)
	useOld() // after the grace: another system shares the credential
	res, err := c.handle(ctx, `{"client_secrets": "retire"}`)
	t.Logf("retire: %+v, %v; %s", res, err, c.table())
	if err == nil || !strings.Contains(err.Error(), "another system shares the credential") || !strings.Contains(err.Error(), old) {
		t.Fatalf("retire error = %v, want the shared-credential error naming %s", err, old)
	}
	if !contains(c.uuids(), old) || c.tags()[integration.TagClientSecretSwitch] == "" {
		t.Errorf("after the refusal: emulator %v, want the old secret kept and the retirement still pending", c.uuids())
	}
	c.check("after the shared-credential refusal")
	res, err = c.handle(ctx, `{"client_secrets": "retire-now"}`)
	t.Logf("retire-now: %+v, %v; %s", res, err, c.table())
	if err != nil || !slices.Equal(res.Removed, []string{old}) || contains(c.uuids(), old) || c.tags()[integration.TagClientSecretSwitch] != "" {
		t.Errorf("retire-now = %+v, %v; emulator %v; want the old secret removed and the tag gone", res, err, c.uuids())
	}
	if res, err := c.handle(ctx, `{"client_secrets": "retire"}`); err != nil || res.Reason != "0 credentials secret(s) with a retirement pending" {
		t.Errorf("retire after retire-now = %+v, %v; want nothing pending", res, err)
	}
	c.check("after retire-now")
	c.noLeak()
}
