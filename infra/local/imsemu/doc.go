// Package imsemu emulates the Adobe IMS token endpoint (POST /ims/token/v3,
// the OAuth client-credentials grant) for make run and the tests, and, with
// a Profile, the token endpoints of other providers (Auth0, Entra ID v1 and
// v2, Cognito, Okta, Keycloak, Salesforce) as their documentation describes
// them.
//
// A Server is an http.Handler: serve it with httptest or any http.Server.
//
//	emu, err := imsemu.New(imsemu.Config{
//		Clients: map[string]imsemu.Client{
//			"demo-client": {Secrets: []string{secret}, Scopes: []string{"openid", "AdobeID", "read_organizations"}},
//		},
//	})
//	if err != nil { ... }
//	ts := httptest.NewServer(emu)
//	defer ts.Close()
//	defer emu.Close() // releases requests held by a Hang fault
//	tokenURL := ts.URL + imsemu.TokenPath
//
// It answers like IMS: 200 with {"access_token", "token_type": "bearer",
// "expires_in": 86399}, or 400 with {"error", "error_description"}; every
// response carries an X-Debug-Id header. Credentials come as form fields
// (as IMS wants) or in an HTTP Basic header (RFC 6749 section 2.3.1), not
// both.
//
// Another provider's endpoint, answering on its own path:
//
//	p, _ := imsemu.ProfileNamed("entra-v2")
//	emu, err := imsemu.New(imsemu.Config{Profile: p, Clients: clients})
//	...
//	tokenURL := ts.URL + strings.ReplaceAll(emu.Path(), "{tenant}", "my-tenant")
//
// Each profile checks what the provider documents (Auth0's audience, Entra
// v2's single "/.default" scope, Okta's client_secret_basic, ...) and
// answers in its shape (Entra v1's string numbers, Salesforce's answer
// without expires_in, JWT access tokens whose exp claim matches the
// lifetime). Config.FormAnswer and Config.OmitExpiresIn vary any profile's
// answer.
//
// A client registered with a PublicKey instead of secrets authenticates
// with private_key_jwt (RFC 7523) where its profile takes it (Okta, Auth0,
// Entra ID, Keycloak): the server verifies the assertion as such a provider
// does (the alg fits the key, the signature, kid, iss and sub, aud, the exp
// window, nbf and iat) and refuses a jti it has seen.
//
// On the Entra profiles, a client registered with Federated credentials
// (issuer, subject, audiences) authenticates with an external issuer's JWT
// as its client assertion, such as the STS JWT of aws_web_identity
// (infra/local/stsemu stands in for STS): the server matches iss, sub and
// aud against the credentials, checks exp, nbf and iat, and verifies the
// signature with the kid's key from the issuer's JWKS, read through its
// discovery document; each mismatch gets Entra's AADSTS error. A reused
// JWT is taken within its life (that Entra checks no jti of an external
// token is an assumption).
//
// Faults replace the normal answer, for testing a client's error handling:
//
//	emu.Enqueue(imsemu.Status(503, "2"), imsemu.NotJSON()) // the next two requests, in order
//	emu.SetFault(imsemu.Hang())                            // every request after the queue runs dry
//	emu.ClearFault()
//
// EchoRequest plays a gateway or WAF that refuses the request and echoes
// it, client secret and all, into error_description: a client must keep
// every form of its secret out of what it reports.
//
// Under the IMS profile it also serves the three I/O Management API calls
// on a client's secrets (see ManagementPrefix) for a Client with an OrgID
// and a CredentialID: list, add (at most MaxSecrets; a third is refused
// with 400) and delete by uuid, with a bearer token it issued with the
// management scopes (ManagementScopes). Each token request authenticated
// with a secret moves that secret's last_used_at; Secrets shows them.
//
// Requests, Issued and LastRequest tell a test what the client did; they
// hold no client secret. The server never logs a client secret or a token.
// Every method is safe for concurrent use.
package imsemu
