// Command signingkey creates a KMS key that signs a tokenrotator stack's
// private_key_jwt client assertions, and prints what each provider
// registers: the public JWK with its kid (Okta, Auth0, Keycloak), and a
// certificate self-signed through KMS with its thumbprints (Entra ID); then
// the settings to deploy with. The private key never leaves KMS. make
// signing-key runs it.
//
//	go run ./infra/ops/cmd/signingkey -stack tokenrotator -name okta-2026 [-spec RSA_2048|ECC_NIST_P256]
//
// The key is tagged tokenrotator:stack=<stack>, which lets the stack's
// rotator sign with it, and has the alias alias/<stack>/<name>. It exits 1
// when a step fails, 2 for a bad command line.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/tokenrotator/tokenrotator/infra/ops"
)

func main() {
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("signingkey", flag.ContinueOnError)
	stack := fs.String("stack", ops.DefaultStackName, "the CloudFormation stack's `name`, whose rotator signs with the key (make: STACK_NAME)")
	name := fs.String("name", "", "the key's `name`, in its alias alias/<stack>/<name>, such as okta-2026 (make: NAME; required)")
	spec := fs.String("spec", ops.SpecRSA2048, "the key `spec`: "+ops.SpecRSA2048+" (RS256, PS256; Entra ID) or "+ops.SpecP256+" (ES256) (make: SPEC)")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "signingkey: unexpected arguments %q (every value is a flag, such as -name okta-2026)\n", fs.Args())
		return 2
	}
	if err := ops.CheckSigningKeyRequest(*stack, *name, *spec); err != nil {
		fmt.Fprintln(os.Stderr, "signingkey:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "signingkey: loading AWS configuration:", err)
		return 1
	}
	k, err := ops.CreateSigningKey(ctx, kms.NewFromConfig(cfg), *stack, *name, *spec, time.Now())
	if err != nil {
		fmt.Fprintln(os.Stderr, "signingkey:", err)
		return 1
	}
	k.Print(os.Stdout)
	return 0
}
