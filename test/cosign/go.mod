// The project's own wrapper module for the cosign CLI (the README walkthrough and the interop tests in
// test/integration/cosign/). Only cosign is required here; scripts/cosign-assets.ts runs `go mod tidy` and
// `go build` in a temporary copy. Its go directive is cosign's own (1.26.0), so the machine's Go builds it.
module pinwarden.dev/test/cosign

go 1.26.0

require github.com/sigstore/cosign/v3 v3.1.3

tool github.com/sigstore/cosign/v3/cmd/cosign
