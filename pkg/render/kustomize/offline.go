package kustomize

import (
	"errors"
	"net/http"
	"os"
)

// ForbidNetwork makes every network access of kustomize's loader fail in this process, whatever
// a kustomization says: the guarantee under the check that Render makes first. kustomize fetches
// http(s) files with http.DefaultTransport and clones Git repositories with the git program on
// PATH, and neither can be turned off for one build (krusty.Options has no loader setting and
// kustomize's loader package is internal). So ForbidNetwork replaces http.DefaultTransport and
// http.DefaultClient with ones that refuse every request, and empties PATH so that no git
// program is found.
//
// It is for a process that only renders (a render worker), called once before the first render:
// it changes the whole process.
func ForbidNetwork() {
	http.DefaultTransport = refuseNetwork{}
	http.DefaultClient = &http.Client{Transport: refuseNetwork{}}
	_ = os.Setenv("PATH", "")
}

// errNetworkForbidden is what a request gets after ForbidNetwork.
var errNetworkForbidden = errors.New("network access is forbidden while rendering: kube-gitops renders only from the repository")

type refuseNetwork struct{}

func (refuseNetwork) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errNetworkForbidden
}
