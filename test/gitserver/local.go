package gitserver

import (
	"fmt"
	"os"
	"path/filepath"
)

// LocalRepo makes a bare repository in dir whose main branch holds one commit of files (path ->
// content, any bytes) and symlinks (path -> target, committed as Git links, mode 120000), and
// returns its file:// URL. It needs no Server: unit tests fetch it with pkg/source directly.
func LocalRepo(dir string, files, symlinks map[string]string) (string, error) {
	work, bare := filepath.Join(dir, "work"), filepath.Join(dir, "repo.git")
	for name, content := range files {
		if err := writeFile(filepath.Join(work, name), func(p string) error { return os.WriteFile(p, []byte(content), 0o644) }); err != nil {
			return "", err
		}
	}
	for name, target := range symlinks {
		if err := writeFile(filepath.Join(work, name), func(p string) error { return os.Symlink(target, p) }); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(bare, 0o755); err != nil {
		return "", fmt.Errorf("local repository: %w", err)
	}
	if err := initBare(bare); err != nil {
		return "", err
	}
	if err := commitTree(bare, work, "refs/heads/main", "a repository for a test"); err != nil {
		return "", err
	}
	return "file://" + bare, nil
}

func writeFile(p string, write func(string) error) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("local repository: %w", err)
	}
	if err := write(p); err != nil {
		return fmt.Errorf("local repository: %w", err)
	}
	return nil
}
