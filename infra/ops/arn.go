package ops

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	// suffixRE matches the six characters Secrets Manager appends to a
	// secret's name in its ARN.
	suffixRE = regexp.MustCompile(`.-[A-Za-z0-9]{6}$`)
)

// CheckCredentialsARN returns an error unless s is a full Secrets Manager
// secret ARN, arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME-XXXXXX,
// with the six characters Secrets Manager appends to the name. The
// rotator reads the credentials by that exact ARN, and the token secret's
// tokenrotator:credentials tag records it.
func CheckCredentialsARN(s string) error {
	const want = "want the full ARN DescribeSecret shows, such as arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-credentials-AbCdEf"
	a, err := arn.Parse(s)
	if err != nil {
		return fmt.Errorf("credentials %q is not an ARN: %s", s, want)
	}
	name, isSecret := strings.CutPrefix(a.Resource, "secret:")
	switch {
	case a.Service != "secretsmanager" || !isSecret:
		return fmt.Errorf("credentials %q is not a Secrets Manager secret's ARN: %s", s, want)
	case a.Region == "" || !accountRE.MatchString(a.AccountID):
		return fmt.Errorf("credentials %q has no Region or no 12-digit account: %s", s, want)
	case !suffixRE.MatchString(name):
		return fmt.Errorf("credentials %q is a partial ARN (no -XXXXXX after the secret's name): %s", s, want)
	}
	return nil
}

// accountOf returns the account of the ARN s, or "" when s is none.
func accountOf(s string) string {
	a, err := arn.Parse(s)
	if err != nil {
		return ""
	}
	return a.AccountID
}
