// Package docscheck holds only tests: they hold the repository's docs (the
// README.md of the root and of each folder that has one) to the files and
// the Makefile they describe:
//
//   - every relative link resolves to a file, and every #fragment to a
//     heading of that file;
//   - every make target that `make help` lists, and every `make <target>`
//     a doc shows (in a code span or a sh block), is a rule of the Makefile;
//     help lists no internal target (SAM's build-* rules, cfn-lint), and
//     every target the contract names;
//   - the top-level README stays under 400 lines, and its first screen
//     holds the two local commands, the three deploy commands, a Go
//     consumer with its go get, and links to the Python and Node.js ones;
//   - prose is wrapped at 120 columns (tables, code and generated blocks
//     aside).
//
// Each check is a function of the text, and a test breaks a copy of the
// docs for each to see it fail. The tables that name the template's
// parameters and outputs and the rotator's settings are held to the code by
// functions/internal/templatecheck, which can import the packages that own
// those names; the performance tables by infra/bench.
package docscheck
