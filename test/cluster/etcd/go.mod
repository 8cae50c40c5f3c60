// The project's own wrapper module for etcd (issue #8), separate from kube/ so that it never moves the
// apiserver's etcd client. etcd's server module root is `package main` (etcdmain.Main).
module pinwarden.dev/test/cluster/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 v3.7.3

tool go.etcd.io/etcd/server/v3
