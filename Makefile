# tokenrotator: every command a user or CI runs. `make help` lists them.
GO ?= go
# bash, for the process substitution in fuzz.
SHELL := /bin/bash
# SAM sets ARTIFACTS_DIR for build-RotatorFunction; outside SAM the binary goes to bin/.
ARTIFACTS_DIR ?= $(CURDIR)/bin/lambda
# The deployed stack that deploy, rotate and token-env work on.
STACK_NAME ?= tokenrotator
# The tracked samconfig (shared settings) and the user's own, which git ignores: make deploy keeps the
# user's parameters in the second.
SAMCONFIG := infra/samconfig.toml
SAMCONFIG_LOCAL := infra/samconfig.local.toml
CFN_LINT ?= cfn-lint

.PHONY: help run test lint bench fuzz credentials signing-key deploy delete build-RotatorFunction build-ClientSecretRotatorFunction build-ConsumerExampleFunction cfn-lint rotate status integration-add integration-readers integration-remove client-secret-retire token-env

# make help prints the targets with a "## " comment, under the "##@ " headings above them; the others
# (SAM's build targets, cfn-lint) are internals.
help: ## list these targets
	@awk 'BEGIN {FS = ":.*## "} /^##@ / {printf "\n%s\n", substr($$0, 5)} /^[a-zA-Z_-]+:.*## / {printf "  %-20s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

##@ On this machine, no AWS account

run: ## the whole flow locally, in one screen, against local stand-ins; VERBOSE=1 for every detail
	$(GO) run ./infra/local/cmd/demo$(if $(filter 1,$(VERBOSE)), -verbose)

test: ## every test, what CI runs (about 7 minutes)
	@$(MAKE) --no-print-directory lint
	$(GO) test -count=1 -skip '^$(ALONE_TEST)$$' ./...
	@echo "$(ALONE_TEST) alone: it keeps a core busy for a minute and more, and beside it other tests' 3 s call deadlines fail"
	$(GO) test -count=1 -run '^$(ALONE_TEST)$$' ./functions/internal/rotation
	@echo "race detector over the packages that start goroutines: $(RACE_PACKAGES)"
	$(GO) test -count=1 -race $(addprefix ./,$(RACE_PACKAGES))
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME)

# The fleet of 1,000 integrations saturates moto_server, so it runs on its own.
ALONE_TEST := TestFleetOf1000

# Every package with a go statement (in its code or its tests), found afresh each time, so that a package
# that starts goroutines cannot miss the race detector.
RACE_PACKAGES = $(sort $(dir $(shell grep -rlP --include='*.go' '(^|\s)go (func|[A-Za-z_][\w.]*\x28)' functions infra)))

# Every fuzzer of outside input, as package:Function.
FUZZ_TARGETS := event:FuzzParse secretstore:FuzzParseCredentials secretstore:FuzzParseToken oauthtoken:FuzzTokenResponse
FUZZTIME ?= 1m
# make test fuzzes for a number of inputs, not a duration: a duration's -fuzztime can end in "context deadline
# exceeded" with no failing input on a loaded machine (golang/go#75804, fixed in Go 1.27). 10000 inputs is about
# what 3 s gave the slowest fuzzer (FuzzParse) here, 4,000 to 29,000 for the others.
TEST_FUZZTIME ?= 10000x

fuzz: ## each fuzzer for FUZZTIME (1m); fails only on a failing input it writes
	@set -o pipefail; log=$$(mktemp); trap 'rm -f "$$log"' EXIT; \
	for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; corpus=functions/internal/$$pkg/testdata/fuzz/$$fn; \
		echo "fuzzing $$fn in functions/internal/$$pkg for $(FUZZTIME)"; \
		before=$$(ls "$$corpus" 2>/dev/null | sort); \
		if ! $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) ./functions/internal/$$pkg 2>&1 | tee "$$log"; then \
			new=$$(ls "$$corpus" 2>/dev/null | sort | comm -13 <(echo "$$before") -); \
			if [ -n "$$new" ] || ! grep -q 'context deadline exceeded' "$$log"; then \
				echo "$$fn failed$${new:+, failing input $$corpus/$$new}" >&2; exit 1; fi; \
			echo "$$fn: \"context deadline exceeded\" with no failing input written: Go's fuzz coordinator missing its own deadline (golang/go#75804), not a finding"; \
		fi; \
	done

bench: ## the rotator measured beside a minimal reference, then the Go benchmarks
	$(GO) run ./infra/bench/cmd/bench
	$(GO) test -run '^$$' -bench . -benchmem ./functions/...

# The Lambda's bootstrap, static linux/arm64, in ARTIFACTS_DIR: what sam build runs.
build-RotatorFunction:
	mkdir -p "$(ARTIFACTS_DIR)"
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w" \
		-o "$(ARTIFACTS_DIR)/bootstrap" ./functions/rotator

# The client-secret rotator (ClientSecretRotation=adobe) is the same program under a role of its own.
build-ClientSecretRotatorFunction: build-RotatorFunction

# The example consumer's bootstrap, the same way.
build-ConsumerExampleFunction:
	mkdir -p "$(ARTIFACTS_DIR)"
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath -ldflags "-s -w" \
		-o "$(ARTIFACTS_DIR)/bootstrap" ./functions/consumer-example

lint: ## go vet, staticcheck and cfn-lint, with zero findings
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	$(CFN_LINT) --include-checks I -- template.yaml

# template.yaml alone, through the SAM translator, informational checks included.
cfn-lint:
	$(CFN_LINT) --include-checks I -- template.yaml

##@ Deploy (an AWS account, the AWS CLI and the SAM CLI)

credentials: ## store the client ID and secret (asked, not echoed) in a secret [NAME=...]
	$(GO) run ./infra/ops/cmd/credentials $(if $(NAME),-name "$(NAME)") $(if $(KMS_KEY),-kms-key "$(KMS_KEY)")

signing-key: ## a KMS key for private_key_jwt and what providers register: NAME=okta-2026 [SPEC=RSA_2048|ECC_NIST_P256]
	@if [ -z "$(NAME)" ]; then echo "make signing-key needs NAME=<key name>, e.g. make signing-key NAME=okta-2026 (SPEC=ECC_NIST_P256 for ES256)" >&2; exit 2; fi
	$(GO) run ./infra/ops/cmd/signingkey -stack "$(STACK_NAME)" -name "$(NAME)" $(if $(SPEC),-spec "$(SPEC)")

deploy: ## deploy: CREDENTIALS=<ARN> ALARM_EMAIL=<address or none> the first time; GUIDED=1 asks everything
	@command -v sam >/dev/null 2>&1 || { echo "make deploy needs the AWS SAM CLI (sam), which is not installed:" \
		"https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html" >&2; exit 1; }
	$(GO) run ./infra/ops/cmd/deploy -stack "$(STACK_NAME)" -config $(SAMCONFIG) -local $(SAMCONFIG_LOCAL) \
		$(if $(CREDENTIALS),-credentials "$(CREDENTIALS)") $(if $(ALARM_EMAIL),-alarm-email "$(ALARM_EMAIL)") $(if $(filter 1,$(GUIDED)),-guided)

delete: ## delete the stack, its added integrations first; says what it leaves
	$(GO) run ./infra/ops/cmd/delete -stack "$(STACK_NAME)"

# stack-output NAME: the shell command that prints one output of the deployed stack, or fails saying why.
stack-output = out=$$(aws cloudformation describe-stacks --stack-name $(STACK_NAME) \
	--query "Stacks[0].Outputs[?OutputKey=='$(1)'].OutputValue" --output text) && [ -n "$$out" ] && [ "$$out" != None ] \
	&& echo "$$out" || { echo "stack $(STACK_NAME) has no output $(1): run make deploy first (or set STACK_NAME)" >&2; exit 1; }

##@ Operate the deployed stack (STACK_NAME, default tokenrotator)

status: ## one read-only screen: every token's age and expiry, alarms, dead-letter queue
	$(GO) run ./infra/status/cmd/status -stack "$(STACK_NAME)"

rotate: ## force a rotation of every integration, or INTEGRATION=acme alone
	$(GO) run ./infra/ops/cmd/integration rotate -stack "$(STACK_NAME)" $(if $(INTEGRATION),-name "$(INTEGRATION)")

client-secret-retire: ## after a leak: remove every client secret but the current one at Adobe, NAME=acme or default
	@if [ -z "$(NAME)" ]; then echo "make client-secret-retire needs NAME=<integration name>, or NAME=default for the stack's own," \
		"e.g. make client-secret-retire NAME=default" >&2; exit 2; fi
	$(GO) run ./infra/ops/cmd/integration client-secret-retire -stack "$(STACK_NAME)" -name "$(NAME)"

token-env: ## print export lines of the token and client ID, for eval
	@set -e; arn=$$($(call stack-output,TokenSecretArn)); \
	echo "# the access token of $$arn follows; it is a credential, keep it out of logs and shared terminals" >&2; \
	aws secretsmanager get-secret-value --secret-id "$$arn" --query SecretString --output text | python3 -c \
		'import json, shlex, sys; v = json.load(sys.stdin); t = v.get("access_token") or sys.exit("no token stored yet: run make rotate"); \
		print("export LR_FF_SERVICES_ACCESS_TOKEN=" + shlex.quote(t)); \
		print("export LR_FF_SERVICES_CLIENT_ID=" + shlex.quote(v.get("client_id", ""))); \
		print("# expires " + v.get("expiry", "(unknown)"))'

##@ Many integrations in one stack

integration-add: ## add one: NAME=acme CREDENTIALS=<ARN> [READERS=<principal ARNs>]
	@if [ -z "$(NAME)" ] || [ -z "$(CREDENTIALS)" ]; then \
		echo "make integration-add needs NAME=<integration name> and CREDENTIALS=<the credentials secret's full ARN>," \
			"e.g. make integration-add NAME=acme CREDENTIALS=arn:aws:secretsmanager:eu-west-1:123456789012:secret:acme-credentials-AbCdEf" >&2; exit 2; fi
	$(GO) run ./infra/ops/cmd/integration add -stack "$(STACK_NAME)" -name "$(NAME)" -credentials "$(CREDENTIALS)" $(if $(READERS),-readers "$(READERS)")

integration-readers: ## who reads its token: NAME=acme READERS=<principal ARNs, or none>
	@if [ -z "$(NAME)" ] || [ -z "$(READERS)" ]; then \
		echo "make integration-readers needs NAME=<integration name> and READERS=<IAM principal ARNs, comma-separated, or none>," \
			"e.g. make integration-readers NAME=acme READERS=arn:aws:iam::123456789012:role/acme-service" >&2; exit 2; fi
	$(GO) run ./infra/ops/cmd/integration readers -stack "$(STACK_NAME)" -name "$(NAME)" -readers "$(READERS)"

integration-remove: ## remove one: NAME=acme (its credentials secret stays)
	@if [ -z "$(NAME)" ]; then echo "make integration-remove needs NAME=<integration name>, e.g. make integration-remove NAME=acme" >&2; exit 2; fi
	$(GO) run ./infra/ops/cmd/integration remove -stack "$(STACK_NAME)" -name "$(NAME)"
