package python

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// runtimeFS is the Python side: standard library only, written out at start.
//
//go:embed runtime/*.py
var runtimeFS embed.FS

// writeRuntime creates a private directory (0700) holding the Python runtime and returns it.
func writeRuntime() (string, error) {
	dir, err := os.MkdirTemp("", runtimePrefix)
	if err != nil {
		return "", fmt.Errorf("failed to create the Python runtime directory: %w", err)
	}
	err = fs.WalkDir(runtimeFS, "runtime", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := runtimeFS.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, filepath.Base(path)), data, 0o600)
	})
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", fmt.Errorf("failed to write the Python runtime to %s: %w", dir, err)
	}
	return dir, nil
}
