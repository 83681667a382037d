package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/kube-gitops/kube-gitops/pkg/source"
)

const (
	historyCommits = 5000
	historyFiles   = 10000
)

// writeHistory gives the repository at gitDir a main branch of historyCommits commits (replacing
// the one it had): the first adds historyFiles files, each later one changes one of them. git
// fast-import writes it in seconds.
func writeHistory(gitDir string) error {
	cmd := exec.Command("git", "--git-dir", gitDir, "fast-import", "--quiet", "--force")
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+gitDir)
	var errOut strings.Builder
	cmd.Stderr = &errOut
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	w := bufio.NewWriter(in)
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	for c := 1; c <= historyCommits; c++ {
		msg := fmt.Sprintf("commit %d", c)
		fmt.Fprintf(w, "commit refs/heads/main\ncommitter Bench <bench@example.com> %d +0000\ndata %d\n%s\n", when+int64(c), len(msg), msg)
		if c == 1 {
			for f := 0; f < historyFiles; f++ {
				data := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%05d}\ndata: {value: \"0\"}\n", f)
				fmt.Fprintf(w, "M 644 inline apps/dir-%03d/file-%05d.yaml\ndata %d\n%s\n", f/100, f, len(data), data)
			}
			continue
		}
		// No "from": each commit follows the previous one of this stream. ("from
		// refs/heads/main^0" read the ref on disk, the repository's first commit, every time: the
		// tip then held one file.)
		f := c % historyFiles
		data := fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%05d}\ndata: {value: \"%d\"}\n", f, c)
		fmt.Fprintf(w, "M 644 inline apps/dir-%03d/file-%05d.yaml\ndata %d\n%s\n", f/100, f, len(data), data)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := in.Close(); err != nil {
		return err
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git fast-import: %v: %s", err, errOut.String())
	}
	return nil
}

// goGitFetch is the child process of P6: pkg/source's fetch of the tracked ref, as the server
// does it.
func goGitFetch(repoURL, user, pass string) error {
	f := source.NewFetcher(source.Repo{URL: repoURL, Ref: "main", Auth: func(context.Context) (transport.AuthMethod, error) {
		return &githttp.BasicAuth{Username: user, Password: pass}, nil
	}}, 5*time.Minute)
	start := time.Now()
	snap, err := f.Fetch(context.Background())
	if err != nil {
		return err
	}
	files, err := snap.ListFiles("apps/dir-000")
	if err != nil {
		return err
	}
	fmt.Printf("seconds=%f files-in-dir-000=%d\n", time.Since(start).Seconds(), len(files))
	return nil
}

func benchGitFetch(b *testing.B) {
	const repo = "bench-history"
	tiny, err := os.MkdirTemp(env.Dir, "history-")
	must(b, err)
	must(b, os.WriteFile(filepath.Join(tiny, "README.md"), []byte("history\n"), 0o644))
	repoURL, err := env.Git.CreateRepo(repo, tiny)
	must(b, err)
	progress("P6: writing %d commits of %d files", historyCommits, historyFiles)
	must(b, writeHistory(env.Git.Path(repo)))

	const runs = 3
	var oursRSS, gitRSS []float64 // peak RSS, MB
	oursTime, err := median(runs, func() (time.Duration, error) {
		m, err := measure(child("go-git-fetch", "BENCH_URL="+repoURL, "BENCH_USER=gitops", "BENCH_PASS="+env.GitPass))
		oursRSS = append(oursRSS, m.peakRSS)
		return m.wall, err
	})
	must(b, err)
	withCreds, err := url.Parse(repoURL)
	must(b, err)
	withCreds.User = url.UserPassword("gitops", env.GitPass)
	gitTime, err := median(runs, func() (time.Duration, error) {
		dest, err := os.MkdirTemp(env.Dir, "clone-")
		if err != nil {
			return 0, err
		}
		defer os.RemoveAll(dest)
		// What the server does: the tracked branch's commit only, no checkout to disk.
		cmd := exec.Command("git", "clone", "--quiet", "--bare", "--depth", "1", "--single-branch", "--no-tags", "--branch", "main", withCreds.String(), filepath.Join(dest, "repo.git"))
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "HOME="+dest)
		m, err := measure(cmd)
		gitRSS = append(gitRSS, m.peakRSS)
		return m.wall, err
	})
	must(b, err)
	b.ReportMetric(oursTime.Seconds(), "s-fetch")
	what := fmt.Sprintf("%d-commits-%d-files", historyCommits, historyFiles)
	record(ratioAtMost(figure{id: "P6", what: "go-git-fetch-" + what + "(s,median-of-3) vs git-clone-depth-1", unit: "s", ours: oursTime.Seconds(), baseline: gitTime.Seconds()}, 1.5))
	record(ratioAtMost(figure{id: "P6", what: "go-git-fetch-peak-RSS(MB) vs git-clone-depth-1", unit: "MB", ours: medianFloat(oursRSS), baseline: medianFloat(gitRSS)}, 2))
}

func medianFloat(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
