// Package tokensecret reads the OAuth access token that the tokenrotator
// Lambda keeps in a Secrets Manager secret, and hands it to your code for as
// long as it is good, touching Secrets Manager about once a day.
//
// # The token secret
//
// The rotator writes a new version of the secret about every 23 hours:
//
//	{"access_token": "...", "token_type": "bearer",
//	 "expiry": "2026-11-29T16:00:00Z", "issued_at": "2026-11-28T16:00:01Z",
//	 "client_id": "...", "scope": "openid,AdobeID,read_organizations"}
//
// A token lasts 24 hours, so the one the rotator replaces keeps working for
// about an hour more. Other providers issue tokens that last from 15
// minutes to 7 days, and the rotator's schedule replaces each one well
// before it expires (at least 5 minutes before, for a 15-minute token).
// Because the secret says when its token expires, a reader need not poll: it
// can read once, and read again shortly before that expiry. That is what a
// Source does.
//
// # Reading the token
//
// Build one Source per secret, at start-up (in a Lambda, outside the
// handler), and share it:
//
//	awsCfg, err := config.LoadDefaultConfig(ctx)
//	if err != nil { ... }
//	src, err := tokensecret.New(tokensecret.Config{
//		SecretID: os.Getenv("TOKEN_SECRET_ID"),
//		Client:   secretsmanager.NewFromConfig(awsCfg),
//	})
//	if err != nil { ... }
//
// Then ask it for the token whenever you need one. Get reads the secret the
// first time, and after that returns the cached token until it comes within
// its margin of its expiry:
//
//	tok, err := src.Get(ctx)
//	if err != nil { ... }
//	src.SetAuthHeader(req, tok) // Authorization, and x-api-key by default
//
// The margin is 5 minutes, or a sixth of the token's lifetime (expiry -
// issued_at) if that is less: 2.5 minutes for a 15-minute token. It is
// chosen so that the re-read, 55 minutes after the rotator replaced a 24-hour
// token (or a few minutes after it replaced a 15-minute one), finds the new
// one: one read per rotation. Config.Margin sets a fixed margin instead. Many
// goroutines can call Get at once; at most one read is in flight, and the
// others wait for it. If a read fails while the cached token is still valid,
// Get returns the cached token and logs the failure. Get never returns an
// expired token.
//
// # Calling Adobe APIs
//
// Adobe APIs want the token in an Authorization header and the client id in
// an x-api-key header. Transport, or NewClient, sets both on every request:
//
//	client := tokensecret.NewClient(src)
//	resp, err := client.Get("https://example.adobe.io/some/api")
//
// If the API answers 401, Transport reports the token as rejected, which
// makes the Source read the secret again past its cache, and sends the
// request once more with the new token when its body can be sent again. A
// request with a one-shot body (a streamed upload) gets its 401 back, but
// the next request carries the new token. Code that does not use Transport
// can do the same with Source.Reject.
//
// # Calling other APIs
//
// Other APIs want only the Authorization header and have no business seeing
// the client id. Config.OmitAPIKey keeps it out of every request, and
// Config.APIKeyHeader sends it in another header instead of x-api-key:
//
//	src, err := tokensecret.New(tokensecret.Config{
//		SecretID:   os.Getenv("TOKEN_SECRET_ID"),
//		Client:     secretsmanager.NewFromConfig(awsCfg),
//		OmitAPIKey: true,
//	})
//
// Transport and Source.SetAuthHeader follow both; Token.SetAuthHeader always
// sends x-api-key.
//
// Source also implements oauth2.TokenSource, for code built on
// golang.org/x/oauth2 (which sets only the Authorization header).
//
// # Errors
//
// Errors from Get wrap one of ErrNotFound (no such secret, or no value yet),
// ErrNoToken (the placeholder written before the first rotation),
// ErrExpired (the rotator has stopped), ErrAccessDenied (IAM or KMS refused
// the read) or ErrMalformed; test for them with errors.Is.
//
// # Inside Lambda, through the extension
//
// With Config.Extension set, a Source reads through the AWS Parameters and
// Secrets Lambda Extension on localhost instead of calling Secrets Manager
// itself, sending $AWS_SESSION_TOKEN in the X-Aws-Parameters-Secrets-Token
// header. The Source's expiry-aware cache still decides when to ask.
//
// The extension keeps its own cache, for SECRETS_MANAGER_TTL (at most
// 300 seconds), and a Source cannot get past it: after a 401, Reject (and so
// Transport) may get the rejected token back from the extension, and keep
// serving it, until that cache expires. Read from Secrets Manager directly
// where a revoked token must be dropped at once.
//
// # Secrets stay secret
//
// Token's String, GoString, Format, LogValue and MarshalJSON hide the access
// token, and no error or log line of this package contains one. The
// *oauth2.Token that Token returns is golang.org/x/oauth2's type: do not
// print it.
//
// # Testing your code
//
// StaticSource returns a Source with a fixed token. Package tokensecrettest
// has a fake Secrets Manager client whose versions you can rotate and whose
// reads you can count, a fake clock, and a stand-in for the extension.
package tokensecret
