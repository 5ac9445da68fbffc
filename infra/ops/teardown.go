package ops

import (
	"context"
	"fmt"
)

// Teardown removes the stack, integrations first, and says what it leaves:
//
//  1. removes every integration added to the stack (Remove: its token
//     secret, its stale alarm, its credentials secret's stack tag), as
//     their token secrets and alarms are not resources of the stack;
//  2. deletes the stack with deleteStack (make delete: sam delete), which
//     takes the token secret, the function, its log group, the queue, the
//     alarms, the dashboard and the policies;
//  3. prints what stays, which is the user's.
//
// It stops at the first integration it cannot remove, before the stack is
// touched, so that nothing is left half-deleted and unreachable.
// credentialsARN is the stack's own credentials secret, for the last list;
// it may be empty.
func (o *Operator) Teardown(ctx context.Context, credentialsARN string, deleteStack func(context.Context) error) error {
	if err := o.need(OutputSecretPrefix); err != nil {
		return err
	}
	st := o.cfg.Stack
	added, err := o.List(ctx)
	if err != nil {
		return err
	}
	var kept []string
	for _, a := range added {
		if a.Stack != st.Name {
			fmt.Fprintf(o.cfg.Out, "%s%s is not tagged with stack %s: left as it is\n", st.SecretPrefix, a.Name, st.Name)
			continue
		}
		if err := o.Remove(ctx, a.Name); err != nil {
			return fmt.Errorf("removing integration %q before the stack (nothing of the stack is deleted yet): %w", a.Name, err)
		}
		if a.CredentialsARN != "" {
			kept = append(kept, a.CredentialsARN+" (integration "+a.Name+")")
		}
	}
	fmt.Fprintf(o.cfg.Out, "deleting stack %s: its token secret, function, log group, queue, alarms, dashboard and policies\n", st.Name)
	if err := deleteStack(ctx); err != nil {
		return fmt.Errorf("deleting stack %s (its %d added integrations are removed already): %w", st.Name, len(added), err)
	}
	fmt.Fprintf(o.cfg.Out, "stack %s deleted. Left as they were, yours to keep or delete:\n", st.Name)
	if credentialsARN != "" {
		kept = append([]string{credentialsARN + " (the stack's own)"}, kept...)
	}
	for _, c := range kept {
		fmt.Fprintf(o.cfg.Out, "  credentials secret %s: aws secretsmanager delete-secret --secret-id <ARN>\n", c)
	}
	fmt.Fprintln(o.cfg.Out, "  infra/samconfig.local.toml, your deploy parameters: delete it, or keep it to deploy again")
	fmt.Fprintln(o.cfg.Out, "  the SAM CLI's artifact bucket (stack aws-sam-cli-managed-default), shared by every sam deploy in the Region")
	fmt.Fprintln(o.cfg.Out, "  the TokenRotator metrics in CloudWatch, which expire on their own and cost nothing once nothing writes them")
	return nil
}
