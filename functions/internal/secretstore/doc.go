// Package secretstore reads the credentials secret and reads and writes the
// token secret in AWS Secrets Manager, in the formats of the contract.
//
//	s := secretstore.New(secretsmanager.NewFromConfig(awsCfg))
//	creds, err := s.ReadCredentials(ctx, credentialsID)
//	cur, err := s.ReadToken(ctx, tokenID)   // cur.Problem says why it is no usable token
//	version, err := s.WriteToken(ctx, tokenID, secretstore.TokenValue{...})
//
// WriteToken is one PutSecretValue: the new version becomes AWSCURRENT and
// the one before stays readable as AWSPREVIOUS. Nothing here logs, and no
// error carries a secret value.
package secretstore
