// Package stack wires the local stand-ins together, for make run and the
// end-to-end tests: moto_server for Secrets Manager, the IMS emulator on a
// loopback port, the two secrets, and the real rotator bootstrap under the
// Lambda Runtime Interface Emulator.
//
//	st, err := stack.Start(ctx, stack.Config{Progress: os.Stderr})
//	if err != nil { ... } // names the missing tool, e.g. moto_server
//	defer st.Close()
//	res, err := st.InvokeEvent(ctx, "scheduler.json") // a file in infra/events
//	tok, err := st.StoredToken(ctx)
//	fmt.Println(tok) // masks the access token
//
// The credentials secret holds {"client_id": "demo-client", "client_secret":
// <random for each Start>, "org_id": OrgID, "credential_id": CredentialID};
// the token secret starts with no value. The function runs as on a stack
// deployed with ClientSecretRotation adobe: a rotation of the credentials
// secret (RotationService, then Begin on CredentialsSecretID) rotates the
// client secret at the emulator's management calls. Close
// stops everything Start started, and the kernel stops the child processes
// if this process dies first.
//
// The function also keeps the integrations added under
// IntegrationSecretPrefix, as a deployed stack does. Add them with the
// operator's code (infra/ops, what make integration-add runs), here pointed
// at this stack by OpsFlags:
//
//	p, err := st.StartProvider(auth0Profile, clients)        // a second token endpoint, if needed
//	out, err := st.AddIntegration(ctx, "acme", credentialsJSON) // credentials secret, then "add"
//	out, err = st.Ops(ctx, "rotate")                           // the table make rotate prints
//	tok, err := st.IntegrationToken(ctx, "acme")
package stack
