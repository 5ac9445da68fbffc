// Package faultproxy is a reverse proxy in front of a Secrets Manager
// endpoint (moto_server in the tests) that answers chosen calls with the
// errors Secrets Manager sends, or holds them until the client gives up,
// and counts every call per operation. KMS calls, which speak the same
// protocol, go through it as well (KMSSign, KMSGetPublicKey).
//
//	p, err := faultproxy.New(moto.Endpoint)
//	if err != nil { ... }
//	ts := httptest.NewServer(p)
//	defer ts.Close()
//	defer p.Close() // releases calls a Timeout fault holds
//	p.Inject(faultproxy.Rule{
//		Target:   faultproxy.GetSecretValue,
//		SecretID: "app/credentials", // only the read of that secret
//		Fault:    faultproxy.Throttling(),
//		Times:    1, // the first matching call only; 0 means every one
//	})
//	awsCfg.BaseEndpoint = aws.String(ts.URL)
//	...
//	n := p.Calls(faultproxy.PutSecretValue)     // every PutSecretValue seen
//	w := p.Forwarded(faultproxy.PutSecretValue) // those that reached moto
//
// Operations are told apart by the X-Amz-Target header of the AWS JSON 1.1
// protocol ("secretsmanager.GetSecretValue"), secrets by the SecretId field
// of the JSON body, so that a rule can hit the read of one secret and not
// another. Errors are AWS JSON 1.1 errors: the status, an X-Amzn-ErrorType
// header and a body {"__type": "...", "message": "..."}, which the AWS SDK
// turns into the same API errors as the real service's. The proxy never logs
// and never looks at a secret value.
//
// Every method is safe for concurrent use.
package faultproxy
