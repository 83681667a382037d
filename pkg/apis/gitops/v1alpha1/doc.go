// Package v1alpha1 holds the gitops.kube-gitops.dev/v1alpha1 types shared by the server, the
// kubectl plugin and the Git file format.
//
// +k8s:deepcopy-gen=package
// +k8s:openapi-gen=true
// +k8s:openapi-model-package=dev.kube-gitops.gitops.v1alpha1
// +groupName=gitops.kube-gitops.dev
package v1alpha1
