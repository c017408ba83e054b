//! `hoist kube play`: Kubernetes objects as hoist's desired state.
