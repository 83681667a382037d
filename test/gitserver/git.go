package gitserver

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Identity used for every commit this package makes.
const (
	AuthorName  = "kube-gitops test"
	AuthorEmail = "test@kube-gitops.invalid"
)

// gitTimeout bounds one git command, so a hung push fails a test instead of stalling it.
const gitTimeout = 2 * time.Minute

// gitCmd runs git in dir with an environment independent of the user's config.
// extraEnv is appended (later entries win).
func gitCmd(dir string, extraEnv []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), gitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(gitEnv(), extraEnv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// gitEnv is the process environment without GIT_* variables, plus a fixed
// identity, no global or system config, and no interactive prompts.
func gitEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "LANG=") || strings.HasPrefix(kv, "LC_ALL=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"LANG=C", "LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL="+os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME="+AuthorName,
		"GIT_AUTHOR_EMAIL="+AuthorEmail,
		"GIT_COMMITTER_NAME="+AuthorName,
		"GIT_COMMITTER_EMAIL="+AuthorEmail,
	)
}

// credentialEnv makes git answer the server's 401 challenge with the given
// user and password, read from the environment so they never appear in
// arguments or in a repository's config.
func credentialEnv(user, password string) []string {
	if user == "" {
		return nil
	}
	return []string{
		"GIT_CONFIG_COUNT=1",
		"GIT_CONFIG_KEY_0=credential.helper",
		`GIT_CONFIG_VALUE_0=!f() { test "$1" = get && printf 'username=%s\npassword=%s\n' "$GITSERVER_USER" "$GITSERVER_PASSWORD"; }; f`,
		"GITSERVER_USER=" + user,
		"GITSERVER_PASSWORD=" + password,
	}
}
