// The project's own wrapper module for kube-apiserver and kubectl (issue #8). Only k8s.io/kubernetes is
// required here; scripts/kube-assets.ts adds one `replace k8s.io/X => k8s.io/X v0.N.P` per staging module
// the release's own go.mod requires at v0.0.0, runs `go mod tidy` and builds in a temporary copy.
module pinwarden.dev/test/cluster/kube

go 1.26.0

godebug default=go1.26

require k8s.io/kubernetes v1.37.2

tool (
	k8s.io/kubernetes/cmd/kube-apiserver
	k8s.io/kubernetes/cmd/kubectl
)
