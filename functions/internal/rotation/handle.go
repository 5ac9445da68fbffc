package rotation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"

	"github.com/tokenrotator/tokenrotator/functions/internal/event"
)

// Handle is the Lambda handler: it parses the payload and runs. Scheduled
// events and {} are normal runs, {"force": true} a forced one; either may
// name one integration. A Secrets Manager rotation event runs that step of
// the rotation protocol for the token secret it names (protocol.go), or,
// for a credentials secret, the client-secret rotation (clientsecret.go),
// as are {"client_secrets": ...} events. For a CloudFormation custom-resource event, Create
// and Update force the function's own integration (the stack's), Delete
// does nothing, and the outcome goes to the event's ResponseURL; the
// invocation itself then succeeds unless that report could not be sent, so
// that Lambda does not retry a request CloudFormation already has an answer to.
func (r *Rotator) Handle(ctx context.Context, payload json.RawMessage) (Result, error) {
	ev, err := event.Parse(payload)
	if err != nil {
		r.cfg.Logger.ErrorContext(ctx, "event refused, nothing done", "error", err.Error())
		return Result{}, err
	}
	switch ev.Kind {
	case event.CustomResource:
		return r.customResource(ctx, ev.CFN)
	case event.RotationStep:
		return r.step(ctx, *ev.Rotation)
	case event.ClientSecrets:
		return r.clientSecrets(ctx, ev)
	default:
		return r.Run(ctx, Request{Force: ev.Kind == event.Force, Integration: ev.Integration})
	}
}

// deployRequest is what a custom-resource Create or Update runs: the
// function's own integration, forced; or, for a function without one, a
// normal run of the added integrations.
func (r *Rotator) deployRequest() Request {
	if r.cfg.Settings.CredentialsSecretID == "" {
		return Request{}
	}
	return Request{Force: true, Integration: r.cfg.Settings.Integration}
}

// The first token's retries of an AccessDeniedException (see deployRun).
const (
	// deployDeniedRetryFor bounds the waits between a custom resource's
	// tries: IAM takes seconds to make a role created with the stack usable.
	deployDeniedRetryFor  = 40 * time.Second
	deployDeniedFirstWait = time.Second
	deployDeniedMaxWait   = 8 * time.Second
	// deployReserve is what a try needs of the invocation, at the least:
	// no wait ends later than this before the deadline.
	deployReserve = 10 * time.Second
)

// deployRun runs what a custom-resource Create or Update asks. An
// AccessDeniedException from Secrets Manager (a KMS key's refusal reaches
// the function as one too) is retried, waiting 1 s, 2 s, 4 s, then 8 s
// between tries, at most deployDeniedRetryFor in all and never past
// deployReserve before the invocation's deadline, with a WARN line per
// retry: the role the stack creates with the function may not have
// propagated through IAM yet, and a first deploy should not roll back for
// it. A try that fails writes nothing, so another is safe. Any other error
// fails at once; scheduled and forced runs do not come here.
func (r *Rotator) deployRun(ctx context.Context, log *slog.Logger) (Result, error) {
	wait, waited := deployDeniedFirstWait, time.Duration(0)
	for attempt := 1; ; attempt++ {
		res, err := r.Run(ctx, r.deployRequest())
		if err == nil || !secretsManagerDenied(err) || waited+wait > deployDeniedRetryFor {
			return res, err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait+deployReserve {
			return res, err
		}
		log.WarnContext(ctx, "custom resource: Secrets Manager denied access, retrying (a role created with the stack can take seconds to reach IAM)",
			"attempt", attempt, "retry_in_ms", wait.Milliseconds(), "error", err.Error())
		select {
		case <-ctx.Done():
			return res, err
		case <-time.After(wait):
		}
		waited += wait
		wait = min(2*wait, deployDeniedMaxWait)
	}
}

// secretsManagerDenied reports whether err is Secrets Manager's
// AccessDeniedException.
func secretsManagerDenied(err error) bool {
	var oe *smithy.OperationError
	var ae smithy.APIError
	return errors.As(err, &oe) && oe.ServiceID == secretsmanager.ServiceID &&
		errors.As(err, &ae) && ae.ErrorCode() == "AccessDeniedException"
}

func (r *Rotator) customResource(ctx context.Context, ev *cfn.Event) (Result, error) {
	log := r.cfg.Logger.With("request_type", string(ev.RequestType), "logical_resource_id", ev.LogicalResourceID, "stack_id", ev.StackID)
	var (
		res    Result
		runErr error
	)
	run := func(ctx context.Context, ev cfn.Event) (string, map[string]any, error) {
		// The physical id names the token secret, so that it stays the same
		// across updates and CloudFormation never issues a replacing Delete.
		physical := ev.PhysicalResourceID
		if physical == "" {
			physical = r.cfg.Settings.TokenSecretID
		}
		if physical == "" {
			physical = r.cfg.Settings.IntegrationSecretPrefix
		}
		if ev.RequestType == cfn.RequestDelete {
			log.InfoContext(ctx, "custom resource delete: nothing to do, the token secret stays until the stack deletes it")
			res = Result{Reason: "custom-resource Delete: nothing to do", TokenSecretID: r.cfg.Settings.TokenSecretID}
			return physical, nil, nil
		}
		out, err := r.deployRun(ctx, log)
		if err != nil {
			runErr = err
			return physical, nil, err
		}
		res = out
		return physical, map[string]any{"VersionId": out.VersionID, "Expiry": out.Expiry.Format("2006-01-02T15:04:05Z07:00")}, nil
	}
	// LambdaWrap sends the response; its error (and reason) concern the sending.
	if _, err := cfn.LambdaWrap(run)(ctx, *ev); err != nil {
		log.ErrorContext(ctx, "custom resource: could not report to CloudFormation", "error", err.Error())
		return Result{}, fmt.Errorf("reporting to CloudFormation's ResponseURL: %w", err)
	}
	if runErr != nil {
		res = Result{TokenSecretID: r.cfg.Settings.TokenSecretID, CustomResource: "FAILED: " + runErr.Error()}
		log.ErrorContext(ctx, "custom resource: reported FAILED", "reason", runErr.Error())
	} else {
		res.CustomResource = "SUCCESS"
		log.InfoContext(ctx, "custom resource: reported SUCCESS", "version_id", res.VersionID)
	}
	return res, nil
}

// Unconfigured returns the handler for a function whose setup failed with
// err: every run fails with err, a custom-resource Create or Update reports
// FAILED with it, and a custom-resource Delete reports SUCCESS, so that a
// broken configuration never blocks deleting the stack.
func Unconfigured(err error, log *slog.Logger) func(context.Context, json.RawMessage) (Result, error) {
	return func(ctx context.Context, payload json.RawMessage) (Result, error) {
		ev, perr := event.Parse(payload)
		if perr != nil || ev.Kind != event.CustomResource {
			return Result{}, err
		}
		physical := ev.CFN.PhysicalResourceID
		if _, serr := cfn.LambdaWrap(func(context.Context, cfn.Event) (string, map[string]any, error) {
			if ev.CFN.RequestType == cfn.RequestDelete {
				return physical, nil, nil
			}
			return physical, nil, err
		})(ctx, *ev.CFN); serr != nil {
			return Result{}, fmt.Errorf("reporting to CloudFormation's ResponseURL: %w", serr)
		}
		log.ErrorContext(ctx, "custom resource answered without a working configuration", "request_type", string(ev.CFN.RequestType), "error", err.Error())
		if ev.CFN.RequestType == cfn.RequestDelete {
			return Result{CustomResource: "SUCCESS"}, nil
		}
		return Result{CustomResource: "FAILED: " + err.Error()}, nil
	}
}
