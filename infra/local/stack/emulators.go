package stack

import (
	"context"
	"errors"
	"fmt"

	"github.com/tokenrotator/tokenrotator/infra/local/rie"
)

// StartEmulator starts one more Runtime Interface Emulator running the same
// bootstrap with the same environment as Lambda, against the same
// moto_server and IMS emulator: another execution environment of the same
// function, as Lambda runs several at once when nothing caps its
// concurrency. The caller closes it; Stack.Close does not.
func (st *Stack) StartEmulator(ctx context.Context) (*rie.Emulator, error) {
	if st.function.RIE == "" {
		return nil, errors.New("starting another emulator: the stack is not started")
	}
	e, err := rie.Start(ctx, st.function)
	if err != nil {
		return nil, fmt.Errorf("starting another emulator: %w", err)
	}
	return e, nil
}

// StartEmulators starts n emulators as StartEmulator does. On failure it
// closes those it started. The caller closes the others.
func (st *Stack) StartEmulators(ctx context.Context, n int) ([]*rie.Emulator, error) {
	emus := make([]*rie.Emulator, 0, n)
	for range n {
		e, err := st.StartEmulator(ctx)
		if err != nil {
			for _, e := range emus {
				e.Close()
			}
			return nil, err
		}
		emus = append(emus, e)
	}
	return emus, nil
}
