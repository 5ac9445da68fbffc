# tokenrotator: every command a user or CI runs. `make help` lists them.
GO ?= go
# SAM sets ARTIFACTS_DIR for build-RotatorFunction; outside SAM the binary goes to bin/.
ARTIFACTS_DIR ?= $(CURDIR)/bin/lambda

.PHONY: help run test lint bench fuzz deploy build-RotatorFunction

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-24s %s\n", $$1, $$2}'

run: ## the whole flow locally: moto_server, the IMS emulator and the real bootstrap under the Runtime Interface Emulator
	$(GO) run ./infra/local/cmd/demo

test: ## every test (what CI runs); integration tests need moto_server
	$(GO) test -count=1 ./...
