// Package bench measures the rotator beside a minimal reference rotator
// (infra/bench/reference) in one run, for make bench: bootstrap size and
// zip, cold-start init under the Lambda Runtime Interface Emulator, warm
// rotation latency split into Secrets Manager, IMS and own time, peak RSS,
// calls per run, and the consumer library's cached path. It prints one
// Markdown table with each figure's budget from issue 6. In the same run it
// measures what private_key_jwt adds (SigningTable): the rotator keeping a
// private_key_jwt integration fresh, its assertions signed by a KMS key in
// moto_server behind a timing proxy of its own, beside the client-secret
// run: KMS round trips per run, KMS time, and own time as a ratio.
//
//	rep, err := bench.Run(ctx, bench.Config{Progress: os.Stderr})
//	if err != nil { ... }
//	fmt.Print(rep.Table())
//
// It starts moto_server, the IMS emulator and the emulators itself, and
// stops them all before Run returns. Secrets Manager time is measured by a
// timing reverse proxy in front of moto_server and IMS time by a timing
// wrapper around the IMS emulator's handler; own time is the invocation's
// round trip minus both.
//
// RunFleet measures the same bootstrap keeping fleets of added
// integrations fresh (1, 100 and 1,000 by default), with the IMS emulator
// answering every token request after 100 ms and Secrets Manager calls
// counted by infra/local/faultproxy: for each size, the wall time of a run
// where every integration refreshes and of one right after where none
// does, the calls per integration, the most writes in any second, and the
// bootstrap's peak RSS.
//
//	fleet, err := bench.RunFleet(ctx, bench.FleetConfig{Progress: os.Stderr})
//	if err != nil { ... }
//	fmt.Print(fleet.Table())
//
// Its README.md holds the tables as one run printed them; the tests hold
// their rows and budgets to Table, SigningTable and FleetReport.Table, and keep measured
// figures out of the prose (readme_test.go).
package bench
