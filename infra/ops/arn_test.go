package ops_test

import (
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

func TestCheckCredentialsARN(t *testing.T) {
	tests := []struct {
		name    string
		arn     string
		wantErr string // empty: valid
	}{
		{name: "full", arn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-credentials-AbCdEf"},
		{name: "other partition", arn: "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:acme-a1B2c3"},
		{name: "name with slashes", arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:team/acme/creds-Zz0099"},
		{name: "partial", arn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-credentials", wantErr: "partial ARN"},
		{name: "only a suffix", arn: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:-AbCdEf", wantErr: "partial ARN"},
		{name: "a name", arn: "acme-credentials", wantErr: "is not an ARN"},
		{name: "empty", arn: "", wantErr: "is not an ARN"},
		{name: "another service", arn: "arn:aws:ssm:eu-west-1:123456789012:parameter/acme-AbCdEf", wantErr: "not a Secrets Manager secret"},
		{name: "no region", arn: "arn:aws:secretsmanager::123456789012:secret:acme-AbCdEf", wantErr: "no Region"},
		{name: "short account", arn: "arn:aws:secretsmanager:eu-west-1:1234:secret:acme-AbCdEf", wantErr: "12-digit account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ops.CheckCredentialsARN(tt.arn)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("CheckCredentialsARN(%q) = %v, want nil", tt.arn, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("CheckCredentialsARN(%q) = %v, want an error containing %q", tt.arn, err, tt.wantErr)
			}
		})
	}
}
