package stack

import (
	"context"
	"encoding/json"

	"github.com/tokenrotator/tokenrotator/infra/local/rotationservice"
)

// RotationService is Secrets Manager's rotation service in front of the
// function: each step is an invocation of the real bootstrap, as Secrets
// Manager makes it when the token secret has a rotation schedule (the
// template's RotationEngine secretsmanager). Each step's result goes to
// seen, when not nil; a step's error is the function's.
func (st *Stack) RotationService(seen func(step string, res Result, err error)) rotationservice.Service {
	return rotationservice.Service{SM: st.Secrets, Invoke: func(ctx context.Context, payload []byte) error {
		res, err := st.Invoke(ctx, payload)
		if seen != nil {
			var ev rotationservice.Event
			_ = json.Unmarshal(payload, &ev) // the service built it
			seen(ev.Step, res, err)
		}
		return err
	}}
}
