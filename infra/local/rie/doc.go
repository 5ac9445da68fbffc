// Package rie runs a Lambda bootstrap locally under the Lambda Runtime
// Interface Emulator (aws-lambda-rie, pinned as a tool in go.mod), on two
// free loopback ports, without Docker.
//
//	dir := t.TempDir()
//	rieBin, err := rie.Build(ctx, dir, os.Stderr)        // slow the first time, then cached
//	bootstrap, err := rie.BuildBootstrap(ctx, dir, os.Stderr)
//	emu, err := rie.Start(ctx, rie.Config{RIE: rieBin, Bootstrap: bootstrap, Env: env})
//	if err != nil { ... }
//	defer emu.Close()
//	out, err := emu.Invoke(ctx, []byte(`{}`))
//	var fe *rie.FunctionError
//	if errors.As(err, &fe) { ... } // the handler returned an error
//
// The emulator passes its whole environment to the bootstrap. It starts
// the bootstrap lazily, on the first Invoke, and prints the init duration
// then (see InitDuration). Output holds everything the emulator and the
// bootstrap wrote. Close kills both, and the kernel kills the emulator if
// this process dies first; the bootstrap, which the emulator puts in a
// process group of its own, then exits as its Runtime API connection drops.
package rie
