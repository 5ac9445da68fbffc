package integration_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tokenrotator/tokenrotator/functions/integration"
)

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"default", true},
		{"acme", true},
		{"a", true},
		{"0rg-42", true},
		{strings.Repeat("a", 40), true},
		{strings.Repeat("a", 41), false},
		{"", false},
		{"-acme", false},
		{"Acme", false},
		{"acme_prod", false},
		{"acme prod", false},
		{"acme/prod", false},
		{"acme,prod", false},
		{"acme\n", false},
	} {
		err := integration.CheckName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("CheckName(%q) = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

func TestTokenSecretName(t *testing.T) {
	if got := integration.TokenSecretName("tokenrotator", "acme"); got != "tokenrotator/integrations/acme" {
		t.Errorf("TokenSecretName = %q, want tokenrotator/integrations/acme", got)
	}
	if !strings.HasPrefix(integration.TokenSecretName("s", "x"), integration.SecretPrefix("s")) {
		t.Error("TokenSecretName does not start with SecretPrefix")
	}
}

func ExampleTokenSecretName() {
	fmt.Println(integration.TokenSecretName("tokenrotator", "acme"))
	// Output: tokenrotator/integrations/acme
}
