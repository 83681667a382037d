package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
)

// pushPayload holds the repository URLs of a GitHub, Gitea/Forgejo/Gogs (repository.*) or
// GitLab (project.*, and the older repository.*) push event.
type pushPayload struct {
	Repository *struct {
		CloneURL   string `json:"clone_url"`
		SSHURL     string `json:"ssh_url"`
		HTMLURL    string `json:"html_url"`
		GitURL     string `json:"git_url"`
		URL        string `json:"url"`
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
		Homepage   string `json:"homepage"`
	} `json:"repository"`
	Project *struct {
		GitHTTPURL string `json:"git_http_url"`
		GitSSHURL  string `json:"git_ssh_url"`
		WebURL     string `json:"web_url"`
		HTTPURL    string `json:"http_url"`
		SSHURL     string `json:"ssh_url"`
	} `json:"project"`
}

// pushedURLs returns every URL under which the payload names the pushed repository.
func pushedURLs(contentType string, body []byte) ([]string, error) {
	body, err := jsonBody(contentType, body)
	if err != nil {
		return nil, err
	}
	var p pushPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("push payload is not valid JSON: %v", err)
	}
	var urls []string
	add := func(us ...string) {
		for _, u := range us {
			if u != "" {
				urls = append(urls, u)
			}
		}
	}
	if r := p.Repository; r != nil {
		add(r.CloneURL, r.SSHURL, r.HTMLURL, r.GitURL, r.URL, r.GitHTTPURL, r.GitSSHURL, r.Homepage)
	}
	if r := p.Project; r != nil {
		add(r.GitHTTPURL, r.GitSSHURL, r.WebURL, r.HTTPURL, r.SSHURL)
	}
	if len(urls) == 0 {
		return nil, errors.New("push payload names no repository: want repository.clone_url/ssh_url/html_url or project.git_http_url/git_ssh_url/web_url")
	}
	return urls, nil
}

// jsonBody returns the JSON document of a request body; GitHub, Gitea and Gogs can also send it
// form-encoded as payload=<JSON>.
func jsonBody(contentType string, body []byte) ([]byte, error) {
	if mt, _, _ := mime.ParseMediaType(contentType); mt != "application/x-www-form-urlencoded" {
		return body, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || !form.Has("payload") {
		return nil, errors.New("form-encoded body without a payload field: set the webhook's content type to application/json")
	}
	return []byte(form.Get("payload")), nil
}

// genericRepoURL reads the generic body {"repoURL": "..."}; "" means every followed repository.
func genericRepoURL(contentType string, body []byte) (string, error) {
	body, err := jsonBody(contentType, body)
	if err != nil {
		return "", err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return "", nil
	}
	var req struct {
		RepoURL string `json:"repoURL"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return "", fmt.Errorf(`body is not {"repoURL": "<url>"}: %v (send no body to refresh every followed repository)`, err)
	}
	if dec.More() {
		return "", errors.New(`body has data after the JSON object: send one {"repoURL": "<url>"}`)
	}
	return req.RepoURL, nil
}
