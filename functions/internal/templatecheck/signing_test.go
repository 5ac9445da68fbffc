package templatecheck

import (
	"slices"
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/functions/integration"
)

// ownKeyARN is the prefix of the ARNs of the KMS keys in the stack's
// account and Region.
const ownKeyARN = "arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/"

// keyTagKey is the condition key that holds a statement to the KMS keys
// tagged with the stack's name.
const keyTagKey = "aws:ResourceTag/" + integration.TagStack

// signsAssertions says whether s is the grant private_key_jwt needs and no
// more: kms:Sign and kms:GetPublicKey, on the keys of the stack's account
// and Region, only those tagged with the stack's name.
func signsAssertions(s statement) bool {
	actions := slices.Sorted(slices.Values(s.actions()))
	if !slices.Equal(actions, []string{"kms:GetPublicKey", "kms:Sign"}) {
		return false
	}
	res := list(s.m["Resource"])
	if len(res) != 1 {
		return false
	}
	if text, ok := resourceText(res[0]); !ok || text != ownKeyARN+"*" {
		return false
	}
	cond, _ := s.m["Condition"].(map[string]any)
	eq, _ := cond["StringEquals"].(map[string]any)
	if len(cond) != 1 || len(eq) != 1 {
		return false
	}
	m, _ := eq[keyTagKey].(map[string]any)
	return len(m) == 1 && (m["Ref"] == "AWS::StackName" || m["Fn::Sub"] == "${AWS::StackName}")
}

// TestSigningKeysPinnedToStack: the function may sign client assertions
// (TokenAuth private_key_jwt) only with KMS keys tagged with its stack, in
// one statement, and nothing else in the template may sign.
func TestSigningKeysPinnedToStack(t *testing.T) {
	var found []string
	for _, s := range statements(t, load(t)) {
		for _, a := range s.actions() {
			if a == "kms:Sign" || a == "kms:GetPublicKey" || strings.HasPrefix(a, "kms:Sign") {
				found = append(found, s.where)
				if !strings.HasPrefix(s.where, "RotatorFunctionRole/") || !signsAssertions(s) {
					t.Errorf("%s: %s, want it only in the function's role, on keys tagged %s=<stack> (Condition %v)",
						s.where, a, integration.TagStack, s.m["Condition"])
				}
				break
			}
		}
	}
	if len(found) != 1 {
		t.Errorf("statements that sign: %v, want exactly the function's SignAssertions", found)
	}
}
