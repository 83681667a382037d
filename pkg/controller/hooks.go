package controller

import (
	"strings"

	"github.com/kube-gitops/kube-gitops/pkg/apply"
)

// hooksSummary tells, for the sync's message and history, which Helm hooks ran and how.
func hooksSummary(res *apply.Result) string {
	if len(res.Hooks) == 0 {
		return ""
	}
	return "; hooks: " + strings.Join(res.Hooks, "; ")
}
