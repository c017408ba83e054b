//! `hoist kube generate`: hoist containers and pods as Kubernetes objects.
