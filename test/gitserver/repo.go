package gitserver

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// maxPushAttempts bounds Commit's retries when someone else pushed first.
const maxPushAttempts = 10

var repoNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$`)

// CreateRepo creates the bare repository <name>.git whose main branch holds
// the files of fromDir as one commit (no commit at all if fromDir is ""),
// and returns its URL. It fails with an error wrapping fs.ErrExist if the
// repository already exists.
func (s *Server) CreateRepo(name, fromDir string) (string, error) {
	name = strings.TrimSuffix(name, ".git")
	if !repoNameRE.MatchString(name) || strings.Contains(name, "..") {
		return "", fmt.Errorf("create repo %q: invalid name", name)
	}
	lock := s.repoLock(name)
	lock.Lock()
	defer lock.Unlock()

	path := s.Path(name)
	if _, err := os.Stat(path); err == nil {
		return "", fmt.Errorf("create repo %q: %w", name, fs.ErrExist)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", fmt.Errorf("create repo %q: %w", name, err)
	}
	// Build next to the final path and rename, so a crash never leaves half a repo.
	tmp, err := os.MkdirTemp(filepath.Dir(path), ".create-*")
	if err != nil {
		return "", fmt.Errorf("create repo %q: %w", name, err)
	}
	defer os.RemoveAll(tmp)
	if err := initBare(tmp); err != nil {
		return "", fmt.Errorf("create repo %q: %w", name, err)
	}
	if fromDir != "" {
		if err := commitTree(tmp, fromDir, "refs/heads/main", "Initial commit from "+filepath.Base(fromDir)); err != nil {
			return "", fmt.Errorf("create repo %q from %s: %w", name, fromDir, err)
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("create repo %q: %w", name, err)
	}
	return s.URL(name), nil
}

// initBare makes dir a bare repository that accepts pushes over HTTP.
func initBare(dir string) error {
	if _, err := gitCmd(dir, nil, "init", "--quiet", "--bare", "--initial-branch=main", dir); err != nil {
		return err
	}
	for _, kv := range [][2]string{
		{"http.receivepack", "true"},
		// go-git speaks protocol v0/v1, where fetching a commit by SHA needs this.
		{"uploadpack.allowReachableSHA1InWant", "true"},
		{"uploadpack.allowFilter", "true"},
	} {
		if _, err := gitCmd(dir, nil, "--git-dir="+dir, "config", kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// commitTree commits the files of workTree as one parentless commit on ref of bare repo gitDir.
func commitTree(gitDir, workTree, ref, message string) error {
	abs, err := filepath.Abs(workTree)
	if err != nil {
		return err
	}
	if st, err := os.Stat(abs); err != nil {
		return err
	} else if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", abs)
	}
	env := []string{
		"GIT_DIR=" + gitDir,
		"GIT_WORK_TREE=" + abs,
		"GIT_INDEX_FILE=" + filepath.Join(gitDir, "index.create"),
	}
	defer os.Remove(filepath.Join(gitDir, "index.create"))
	if _, err := gitCmd(abs, env, "add", "--all", "."); err != nil {
		return err
	}
	tree, err := gitCmd(abs, env, "write-tree")
	if err != nil {
		return err
	}
	sha, err := gitCmd(abs, env, "commit-tree", strings.TrimSpace(tree), "-m", message)
	if err != nil {
		return err
	}
	_, err = gitCmd(abs, env, "update-ref", ref, strings.TrimSpace(sha))
	return err
}

// Commit writes files (path -> content, paths relative to the repo root),
// deletes the paths in remove, and commits on branch with message, creating
// the branch from main if it does not exist. It pushes through the HTTP
// server, so authentication is exercised, and returns the new commit's SHA.
// branch may also be a full ref such as refs/pull/7/head. Commits to one repo
// are serialized; a push rejected because someone else pushed first is retried
// on the new tip.
func (s *Server) Commit(repo, branch string, files map[string]string, message string, remove ...string) (string, error) {
	repo = strings.TrimSuffix(repo, ".git")
	if err := checkPaths(files, remove); err != nil {
		return "", fmt.Errorf("commit to %s %s: %w", repo, branch, err)
	}
	lock := s.repoLock(repo)
	lock.Lock()
	defer lock.Unlock()

	var lastErr error
	for range maxPushAttempts {
		sha, retry, err := s.commitOnce(repo, branch, files, message, remove)
		if err == nil {
			return sha, nil
		}
		lastErr = err
		if !retry {
			break
		}
	}
	return "", fmt.Errorf("commit to %s %s: %w", repo, branch, lastErr)
}

// commitOnce clones the tip, applies the change, commits and pushes. retry
// reports that the push lost a race and may succeed on the new tip.
func (s *Server) commitOnce(repo, branch string, files map[string]string, message string, remove []string) (sha string, retry bool, err error) {
	ref := branchRef(branch)
	base := ""
	if _, err := s.Head(repo, ref); err == nil {
		base = ref
	} else if _, err := s.Head(repo, "main"); err == nil {
		base = "refs/heads/main"
	} else if _, statErr := os.Stat(s.Path(repo)); statErr != nil {
		return "", false, fmt.Errorf("repo %s: %w", repo, statErr)
	}

	work, err := os.MkdirTemp("", "gitserver-commit-*")
	if err != nil {
		return "", false, err
	}
	defer os.RemoveAll(work)
	creds := credentialEnv(s.opts.Username, s.opts.Password)
	url := s.URL(repo)
	if _, err := gitCmd(work, nil, "init", "--quiet"); err != nil {
		return "", false, err
	}
	if base != "" {
		if _, err := gitCmd(work, creds, "fetch", "--quiet", "--depth=1", url, base); err != nil {
			return "", false, err
		}
		if _, err := gitCmd(work, nil, "checkout", "--quiet", "FETCH_HEAD"); err != nil {
			return "", false, err
		}
	}
	if err := applyChange(work, files, remove); err != nil {
		return "", false, err
	}
	if _, err := gitCmd(work, nil, "add", "--all", "."); err != nil {
		return "", false, err
	}
	if _, err := gitCmd(work, nil, "commit", "--quiet", "--allow-empty", "--no-verify", "-m", message); err != nil {
		return "", false, err
	}
	if _, err := gitCmd(work, creds, "push", "--quiet", url, "HEAD:"+ref); err != nil {
		msg := err.Error()
		lost := strings.Contains(msg, "[rejected]") || strings.Contains(msg, "fetch first") ||
			strings.Contains(msg, "non-fast-forward") || strings.Contains(msg, "cannot lock ref")
		return "", lost, err
	}
	out, err := gitCmd(work, nil, "rev-parse", "HEAD")
	if err != nil {
		return "", false, err
	}
	return strings.TrimSpace(out), false, nil
}

// applyChange writes files and removes paths in the work tree dir.
func applyChange(dir string, files map[string]string, remove []string) error {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	for _, p := range remove {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if _, err := os.Lstat(full); err != nil {
			return fmt.Errorf("remove %s: not in the branch: %w", p, err)
		}
		if err := os.RemoveAll(full); err != nil {
			return fmt.Errorf("remove %s: %w", p, err)
		}
	}
	return nil
}

// checkPaths refuses paths that would escape the repository or touch .git.
func checkPaths(files map[string]string, remove []string) error {
	check := func(p string) error {
		if !filepath.IsLocal(filepath.FromSlash(p)) {
			return fmt.Errorf("path %q must be relative and inside the repository", p)
		}
		if first, _, _ := strings.Cut(filepath.ToSlash(filepath.Clean(p)), "/"); first == ".git" {
			return fmt.Errorf("path %q is inside .git", p)
		}
		return nil
	}
	var errs []error
	for p := range files {
		errs = append(errs, check(p))
	}
	for _, p := range remove {
		errs = append(errs, check(p))
	}
	return errors.Join(errs...)
}

// Head returns the commit SHA that branch (or a full ref such as
// refs/pull/7/head) points to in repo. The error wraps fs.ErrNotExist if
// the branch does not exist.
func (s *Server) Head(repo, branch string) (string, error) {
	ref := branchRef(branch)
	out, err := gitCmd(s.dir, nil, "--git-dir="+s.Path(repo), "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		if _, statErr := os.Stat(s.Path(repo)); statErr != nil {
			return "", fmt.Errorf("head of %s %s: %w", repo, branch, statErr)
		}
		return "", fmt.Errorf("head of %s %s: %w", repo, branch, fs.ErrNotExist)
	}
	return strings.TrimSpace(out), nil
}

// ReadFile returns the content of path at rev (branch, tag, ref or SHA) in repo.
func (s *Server) ReadFile(repo, rev, path string) (string, error) {
	out, err := gitCmd(s.dir, nil, "--git-dir="+s.Path(repo), "show", rev+":"+filepath.ToSlash(path))
	if err != nil {
		return "", fmt.Errorf("read %s at %s in %s: %w", path, rev, repo, err)
	}
	return out, nil
}

// branchRef turns a branch name into a full ref; full refs pass through.
func branchRef(branch string) string {
	if strings.HasPrefix(branch, "refs/") {
		return branch
	}
	return "refs/heads/" + branch
}

// repoLock returns the mutex that serializes writes to repo.
func (s *Server) repoLock(repo string) *sync.Mutex {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.locks[repo]
	if !ok {
		l = &sync.Mutex{}
		s.locks[repo] = l
	}
	return l
}
