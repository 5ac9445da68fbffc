// Package oauthtoken asks an OAuth2 token endpoint (Adobe IMS by default) for
// a token with the client-credentials grant, checks the answer, and retries
// what is worth retrying within the caller's deadline.
//
//	f := oauthtoken.New(oauthtoken.Config{TokenURL: url, Scope: scope})
//	tok, err := f.Fetch(ctx, oauthtoken.Credentials{ClientID: id, ClientSecret: secret})
//
// The client authenticates through Config.Auth, one small type per method
// behind ClientAuth: BodyAuth (the form body, the default), BasicAuth (a
// Basic header), JWTAuth (private_key_jwt, an assertion signed through
// crypto.Signer, a new one per attempt) and WebIdentityAuth
// (aws_web_identity, a JWT that a third party such as AWS STS issues, a new
// one per attempt); the Fetcher knows none by name.
// The request goes through golang.org/x/oauth2/clientcredentials, the comma-separated
// scope as one element, an HTTP client that has timeouts, refuses redirects
// and caps response bodies. Network errors, 5xx and 429 are retried with
// jittered exponential backoff, honouring Retry-After; OAuth errors such as
// invalid_client are returned at once as *Error with Retryable false.
package oauthtoken
