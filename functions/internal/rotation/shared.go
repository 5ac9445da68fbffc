package rotation

import (
	"context"
	"fmt"
	"strings"

	"github.com/tokenrotator/tokenrotator/functions/internal/config"
	"github.com/tokenrotator/tokenrotator/functions/internal/secretstore"
)

// refuseSharedCredentials marks every added integration whose credentials
// secret backs another integration too. A token secret names its
// credentials secret in a tag; were two allowed to name the same one,
// whoever can create a token secret under the prefix could have tokens
// minted with another integration's client written where they can read
// them. An added integration that names the function's own credentials
// secret is refused, and the function's own integration, which its
// environment configures, runs on; two added ones that share are both
// refused, naming each other. The attempt fails loudly instead of leaking
// a token.
//
// Secrets are compared by ARN. The tags hold full ARNs (secretstore.Directory
// refuses any other spelling), and so may CREDENTIALS_SECRET_ID, as the
// template sets it; a name or partial ARN there is compared by the ARN
// Secrets Manager answers when it is read (ownSpellings), and only when a
// tag may name the same secret: no call is added otherwise.
func (r *Rotator) refuseSharedCredentials(ctx context.Context, targets []target) {
	var own *target
	if len(targets) > 0 && targets[0].own {
		own = &targets[0]
	}
	var ownIDs map[string]bool
	if own != nil {
		ownIDs = r.ownSpellings(ctx, own, targets[1:])
	}
	users := map[string][]string{}
	keys := make([]string, len(targets))
	for i, t := range targets {
		key := t.credentialsSecretID
		if own != nil && ownIDs[key] {
			key = own.credentialsSecretID
		}
		if key != "" {
			keys[i] = key
			users[key] = append(users[key], t.name)
		}
	}
	for i, t := range targets {
		names := users[keys[i]]
		switch {
		case len(names) < 2 || t.problem != "" || t.own:
		case own != nil && keys[i] == keys[0]:
			targets[i].problem = fmt.Sprintf("credentials secret %q is the function's own integration's (%s, %s): a credentials secret may back one integration only, so %s is not run (remove it: make integration-remove NAME=%s)",
				t.credentialsSecretID, own.name, config.EnvCredentialsSecretID, t.name, t.name)
		default:
			targets[i].problem = fmt.Sprintf("credentials secret %q backs integrations %s: a credentials secret may back one integration only, so none of them is run (remove the one that should not be there)",
				t.credentialsSecretID, strings.Join(names, ", "))
		}
	}
}

// ownSpellings returns the credentials secret ids among added's that name
// the function's own credentials secret: CREDENTIALS_SECRET_ID as it is,
// and its full ARN. When CREDENTIALS_SECRET_ID is a name or a partial ARN
// and some tag may name the same secret (secretstore.MayName), the ARN is
// what a read of it answers; should the read fail, every tag that may
// name it counts as naming it, and the function's own integration, which
// reads it again, fails with the cause. A value read is kept in own.creds,
// so that the run reads it no second time.
func (r *Rotator) ownSpellings(ctx context.Context, own *target, added []target) map[string]bool {
	id := own.credentialsSecretID
	ids := map[string]bool{id: true}
	if secretstore.IsFullARN(id) {
		return ids
	}
	var suspects []string
	for _, t := range added {
		if t.credentialsSecretID != id && secretstore.MayName(id, t.credentialsSecretID) {
			suspects = append(suspects, t.credentialsSecretID)
		}
	}
	if len(suspects) == 0 {
		return ids
	}
	creds, err := r.cfg.Store.ReadCredentials(ctx, id)
	if err == nil && creds.ARN != "" {
		ids[creds.ARN] = true
		own.creds = &creds
		return ids
	}
	reason := "the read answered no ARN"
	if err != nil {
		reason = err.Error()
	}
	r.cfg.Logger.WarnContext(ctx, "could not learn the ARN of the function's own credentials secret: the added integrations whose tag may name it are refused",
		"integration", own.name, "credentials_secret_id", id, "error", reason)
	for _, s := range suspects {
		ids[s] = true
	}
	return ids
}
