package webhook

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/kube-gitops/kube-gitops/pkg/redact"
)

// serveEvent acts on the event of a verified request.
func (h *handler) serveEvent(p provider, hdr http.Header, body []byte) *reply {
	switch p.kind {
	case kindPing:
		return &reply{status: http.StatusOK, message: "pong: the secret is right; push events will trigger a refresh"}
	case kindOther:
		return &reply{status: http.StatusAccepted,
			message: fmt.Sprintf("%s event %q ignored: only push events trigger a refresh", p.name, p.event)}
	}
	contentType := hdr.Get("Content-Type")
	if p.name == "generic" {
		repoURL, err := genericRepoURL(contentType, body)
		if err != nil {
			return &reply{status: http.StatusBadRequest, message: err.Error()}
		}
		if repoURL == "" {
			return h.fire(h.repos(), "(every followed repository)")
		}
		return h.match([]string{repoURL})
	}
	urls, err := pushedURLs(contentType, body)
	if err != nil {
		return &reply{status: http.StatusBadRequest, message: err.Error()}
	}
	return h.match(urls)
}

// match triggers every followed repository that one of the pushed URLs names.
func (h *handler) match(pushed []string) *reply {
	keys := make(map[string]bool, len(pushed))
	for _, u := range pushed {
		keys[matchKey(u)] = true
	}
	var hits []string
	for _, f := range h.repos() {
		if keys[matchKey(f)] {
			hits = append(hits, f)
		}
	}
	repo := redact.URL(pushed[0])
	if len(hits) == 0 {
		return &reply{status: http.StatusAccepted, repo: repo,
			message: "not followed: this server does not follow the pushed repository, nothing to refresh"}
	}
	return h.fire(hits, repo)
}

// fire calls Trigger once for each distinct followed URL.
func (h *handler) fire(followed []string, repo string) *reply {
	triggered := []string{}
	seen := make(map[string]bool, len(followed))
	for _, f := range followed {
		if seen[f] {
			continue
		}
		seen[f] = true
		h.trigger(f)
		triggered = append(triggered, redact.URL(f))
	}
	return &reply{status: http.StatusAccepted, repo: repo, triggered: triggered, message: "triggered"}
}

// matchKey compares owner and repository names case-insensitively, as GitHub, GitLab and Gitea
// do; a false match only costs one extra refresh.
func matchKey(u string) string {
	return strings.ToLower(NormalizeURL(u))
}
