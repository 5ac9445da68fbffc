// Package readmecode runs the consumer code of the docs against
// moto_server, so that the code users copy is code that works: the Python,
// Node.js and Go blocks of the consumers' document
// (functions/tokensecret/README.md), and the short Go block of the
// top-level README, each taken from the document itself.
//
//	blocks, err := readmecode.Consumers(docText) // one block per language
//	p, err := readmecode.PreparePython(blocks[readmecode.Python], python, dir)
//	prog, err := p.Start(ctx, srv.Env()) // srv: a motoserver.Server
//	defer prog.Close()
//	for _, c := range readmecode.Cases {
//		err := readmecode.Run(ctx, sm, prog, c) // nil, or what went wrong
//	}
//
// The test in this package does that for every language, in make test.
//
// # The cases
//
// Each case runs a fresh instance of a block (a new module, or a new call
// of the Go block), with TOKEN_SECRET_ID holding the full ARN of a secret of
// its own (as a reader in another account must name it), in the
// token secret's format:
//
//   - fresh token: the block's usage lines send (or build) the headers with
//     that token, and its token function returns it;
//   - no value yet: a secret created without a value fails with the SDK's
//     ResourceNotFoundException (the library's "token secret not found");
//   - placeholder: {} fails with "holds no token yet";
//   - expired token: fails with "token expired";
//   - rotation during the run: a token that lives 30 s, and so has the
//     blocks' default margin of a sixth of its lifetime, 5 s, expires 10
//     to 11 s from the start. After the block has read it, the secret gets a
//     new token. Right after that, and 1.5 s before the margin, the block
//     must still return the old one (it caches); once inside the margin,
//     the new one. The margin comes from the token's own issued_at and
//     expiry, so the blocks run as written, with the real clock.
//
// # How each language runs
//
// A driver (in drivers/), one process per block, runs it and talks to the
// harness over stdin and stdout: "load" runs a fresh instance of the block,
// definitions and usage lines, which read the secret a first time; "get"
// calls its token function again. The replies carry fingerprints
// (Fingerprint) of tokens and headers, never a token: the tokens are
// sentinel values, and a case fails if one appears anywhere in the
// program's output.
//
//   - Python: the block, as is, is readme_block.py next to driver.py, which
//     imports it, reads the headers its usage lines built and calls
//     adobe_token(); python3 and its boto3.
//   - Node.js: the block, as is, is readme-block.mjs next to driver.mjs,
//     which sets the block's one free variable, url (the API it calls: a
//     local server that records the headers), imports it and calls
//     adobeToken(). InstallSDK installs the pinned
//     @aws-sdk/client-secrets-manager with npm, once, outside the
//     repository (DefaultCacheDir), and node resolves it through a link.
//   - Go: the block is the body of a function returning error, with ctx,
//     url and req (a request whose headers the block may set) in scope and
//     the usual packages imported; its src (a *tokensecret.Source) goes to
//     the driver, which calls Get. It is compiled in a temporary module that
//     uses this one from the working tree (a replace directive, this
//     module's go.sum), so its dependencies are this module's, at the same
//     versions, from the module cache; a compile error names the document's
//     line.
//
// Every driver gets moto_server's endpoint in AWS_ENDPOINT_URL, dummy
// credentials and a region, and no other AWS_ variable of the caller's.
//
// # Missing runtimes
//
// CheckPython and CheckNode say what is missing; the test skips that
// language and says what to install, except under CI=true, where it
// fails. Without moto_server every language skips (or fails under CI).
//
// # A broken block fails
//
// The test also breaks copies of the documents (the expiry check removed,
// the cache or the margin dropped, the token printed, a client that sends
// no token) and checks that the case that should catch each breakage
// fails, and how. Each breakage's text must occur once in its document, so
// that a changed block cannot leave a breakage that breaks nothing.
package readmecode
