package ops

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// awsManagedKey is how Secrets Manager names the AWS managed key; a
// secret encrypted with it may also show no key at all.
const awsManagedKey = "alias/aws/secretsmanager"

// KeyReaders is what the stack's output ReaderAccounts says: the accounts
// whose principals the token key lets decrypt through Secrets Manager, by
// id, and the AWS Organizations path whose accounts it lets too.
type KeyReaders struct {
	Accounts []string
	OrgPath  string
}

// ParseKeyReaders parses output ReaderAccounts, "<ids, by commas>;<path>",
// where either part may be empty.
func ParseKeyReaders(s string) (KeyReaders, error) {
	ids, path, ok := strings.Cut(s, ";")
	if !ok {
		return KeyReaders{}, fmt.Errorf("stack output %s %q is not \"<account ids>;<organization path>\"", OutputReaderAccounts, s)
	}
	var kr KeyReaders
	for id := range strings.SplitSeq(ids, ",") {
		switch {
		case id == "":
		case !accountRE.MatchString(id):
			return KeyReaders{}, fmt.Errorf("stack output %s %q: %q is not a 12-digit account id", OutputReaderAccounts, s, id)
		default:
			kr.Accounts = append(kr.Accounts, id)
		}
	}
	kr.OrgPath = path
	return kr, nil
}

// admits reports whether the key lets principals of account decrypt: it
// is named, or an organization path is, which the operator cannot check
// (an account's path is the Organizations API's to tell).
func (kr KeyReaders) admits(account string) bool {
	return kr.OrgPath != "" || slices.Contains(kr.Accounts, account)
}

// checkReaderAccounts refuses readers (checked principal ARNs) of an
// account other than home, the token secret's, that could not decrypt the
// token: the secret is encrypted with the AWS managed key (tokenKey empty
// or awsManagedKey), which no other account can use, or the stack's key
// does not admit their account (keyReaders, output ReaderAccounts; empty
// for a stack that does not say, whose key's policy is then not checked).
// One error names every refused reader.
func checkReaderAccounts(home, tokenKey, keyReaders string, readers []string) error {
	var others []arn.ARN // readers of other accounts
	for _, r := range readers {
		if a, err := arn.Parse(r); err == nil && a.AccountID != home {
			others = append(others, a) // CheckReader refuses what does not parse
		}
	}
	if len(others) == 0 {
		return nil
	}
	var kr *KeyReaders
	if keyReaders != "" {
		parsed, err := ParseKeyReaders(keyReaders)
		if err != nil {
			return fmt.Errorf("%w (nothing was changed)", err)
		}
		kr = &parsed
	}
	managed := tokenKey == "" || tokenKey == awsManagedKey
	var bad []string
	for _, a := range others {
		r := a.String()
		switch {
		case managed:
			bad = append(bad, fmt.Sprintf("reader %s is in account %s, but the token secret is encrypted with the AWS managed key aws/secretsmanager, which no other account can use: deploy the stack with ReaderAccounts (or ReaderOrgPath) naming it, then see \"Readers in other accounts\" in functions/tokensecret/README.md", r, a.AccountID))
		case kr != nil && !kr.admits(a.AccountID):
			bad = append(bad, fmt.Sprintf("reader %s is in account %s, which the stack's ReaderAccounts (%s) do not name, so its roles could not decrypt the token: add the account to ReaderAccounts and deploy first", r, a.AccountID, strings.Join(kr.Accounts, ",")))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s (nothing was changed)", strings.Join(bad, "; "))
	}
	return nil
}
