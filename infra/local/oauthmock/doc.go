// Package oauthmock runs oauth2-mock-server, a third-party OAuth 2 server
// from npm, on a free loopback port: a second token endpoint for the
// integration tests, written by other people than the IMS emulator.
//
//	srv, err := oauthmock.Start(ctx, oauthmock.Config{Lifetime: 24 * time.Hour})
//	if err != nil { ... } // names what is missing, e.g. npm
//	defer srv.Close()
//	env := []string{"TOKEN_URL=" + srv.TokenURL()} // http://127.0.0.1:PORT/token
//
// In tests, ForTest does the same and skips when node or npm is missing (or
// node is older than MinNodeVersion), except under CI=true, where that fails
// the test.
//
// # Installation
//
// Start installs the pinned Version with npm, once, into a directory
// outside the repository (Config.CacheDir, by default
// os.UserCacheDir()/tokenrotator/npm/oauth2-mock-server@Version), and
// reuses it afterwards. The install goes to a temporary sibling first and
// is renamed into place when complete, so test processes that start at the
// same moment never see half an installation. It writes a small launcher,
// launch.mjs from this package, next to it and runs that with node.
//
// # What the token endpoint does
//
// Read from the package's README and its dist code (version 8.2.3):
//
//   - POST /token takes an application/x-www-form-urlencoded (or JSON)
//     body. grant_type is required (a missing one is HTTP 400
//     invalid_request; an unknown one HTTP 400 invalid_grant).
//   - It authenticates nobody: client_id and client_secret in the body, an
//     HTTP Basic header, or no credentials at all are all accepted, and
//     any value passes. Its discovery document says as much:
//     token_endpoint_auth_methods_supported is ["none"]. Server.TokenRequests
//     records which of the three a client used, so that tests can check it.
//   - scope is optional and echoed as is (space-separated or not) in the
//     answer's scope and the token's scope claim; without it, both are left
//     out.
//   - aud (repeatable) becomes the token's aud claim, a string or an array.
//     audience and resource are ignored.
//   - The answer is 200 {"access_token", "token_type": "Bearer",
//     "expires_in": 3600, "scope"} with Cache-Control: no-store; no
//     refresh_token or id_token for client_credentials.
//   - The access token is a JWT signed RS256 with a key generated at start
//     (published at /jwks), header {typ: JWT, kid, alg: RS256}, payload
//     {iss, iat, exp: iat+3600, nbf: iat-10, scope, aud}: no sub and no
//     client_id. Two requests within the same second with the same fields
//     get the same token.
//
// The server itself fixes the lifetime at 3600 s. The launcher makes both
// expires_in and exp follow Config.Lifetime through the server's
// documented beforeTokenSigning and beforeResponse hooks, and sets the
// issuer (iss) to Server.URL, http://127.0.0.1:PORT, where the server
// would say localhost.
package oauthmock
