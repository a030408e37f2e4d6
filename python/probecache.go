package python

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// The interpreter probe costs a Python start, and through pyenv's shim about 60 ms more, on
// every cold start. DiscoverCached keeps its answer in the user's cache directory, keyed by
// everything the answer depends on, and checked again before each use:
//
//   - the looked-up path's own file and what it points to (size, mtime, inode, device): a
//     replaced or edited interpreter or shim misses;
//   - what a pyenv shim reads to pick a version: PYENV_VERSION, PYENV_ROOT, PYENV_DIR, the
//     working directory, every .python-version from it up to / and $PYENV_ROOT/version
//     (each by size and mtime, or its absence): `pyenv global 3.12` or a new .python-version
//     misses;
//   - the resolved interpreter's file (size, mtime, inode, device), checked on a hit.
//
// The cache names a program runwire then executes, so it is only read from a directory and
// a file owned by runwire's user and writable by nobody else, opened without following a
// symbolic link; anything else is ignored (and overwritten by a fresh probe when possible).
// A cache that cannot be read or written costs the probe, nothing more.

// probeCacheVersion changes whenever an entry's meaning does.
const probeCacheVersion = 1

type probeEntry struct {
	Version  int    `json:"v"`
	Key      string `json:"key"`
	Path     string `json:"path"`
	PyVer    string `json:"version"`
	Resolved string `json:"resolvedStat"`
}

// DefaultProbeCacheDir is where runwire keeps interpreter probes: $XDG_CACHE_HOME/runwire or
// ~/.cache/runwire; "" when there is no such directory.
func DefaultProbeCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "runwire")
}

// DiscoverCached is Discover with its answer cached in dir ("" = no cache). cached says
// whether the answer came from the cache.
func DiscoverCached(ctx context.Context, configured, dir string) (in Interpreter, cached bool, err error) {
	if dir == "" {
		in, err = Discover(ctx, configured)
		return in, false, err
	}
	name := configured
	if name == "" {
		name = "python3"
	}
	path, lookErr := exec.LookPath(name)
	if lookErr != nil {
		in, err = Discover(ctx, configured) // words the error
		return in, false, err
	}
	key, ok := probeKey(path)
	if !ok {
		in, err = Discover(ctx, configured)
		return in, false, err
	}
	file := filepath.Join(dir, "probe-"+hashKey(key)+".json")
	if e, ok := readProbe(dir, file); ok && e.Version == probeCacheVersion && e.Key == key &&
		filepath.IsAbs(e.Path) && fileStamp(e.Path, true) == e.Resolved && checkVersion(e.PyVer) == nil {
		return Interpreter{Path: e.Path, Version: e.PyVer}, true, nil
	}
	in, err = Discover(ctx, configured)
	if err != nil || !filepath.IsAbs(in.Path) {
		return in, false, err
	}
	writeProbe(dir, file, probeEntry{Version: probeCacheVersion, Key: key, Path: in.Path, PyVer: in.Version, Resolved: fileStamp(in.Path, true)})
	return in, false, nil
}

// probeKey is everything the probe's answer for path depends on; ok is false when path
// cannot be examined.
func probeKey(path string) (key string, ok bool) {
	var b strings.Builder
	self, target := fileStamp(path, false), fileStamp(path, true)
	if target == "-" {
		return "", false
	}
	fmt.Fprintf(&b, "path=%s\nself=%s\ntarget=%s\n", path, self, target)
	for _, k := range []string{"PYENV_VERSION", "PYENV_ROOT", "PYENV_DIR"} {
		v, set := os.LookupEnv(k)
		fmt.Fprintf(&b, "%s=%v:%s\n", k, set, v)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return "", false
	}
	fmt.Fprintf(&b, "cwd=%s\n", cwd)
	start := cwd
	if d := os.Getenv("PYENV_DIR"); d != "" {
		start = d
	}
	for d := start; ; d = filepath.Dir(d) {
		f := filepath.Join(d, ".python-version")
		fmt.Fprintf(&b, "%s=%s\n", f, fileStamp(f, true))
		if d == filepath.Dir(d) {
			break
		}
	}
	root := os.Getenv("PYENV_ROOT")
	if root == "" {
		if home, err := os.UserHomeDir(); err == nil {
			root = filepath.Join(home, ".pyenv")
		}
	}
	if root != "" {
		f := filepath.Join(root, "version")
		fmt.Fprintf(&b, "%s=%s\n", f, fileStamp(f, true))
	}
	return b.String(), true
}

// fileStamp identifies a file's content as far as its metadata can: "-" when it does not
// exist (or cannot be examined).
func fileStamp(path string, follow bool) string {
	stat := os.Lstat
	if follow {
		stat = os.Stat
	}
	fi, err := stat(path)
	if err != nil {
		return "-"
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "-"
	}
	return fmt.Sprintf("%d:%d:%d:%d:%o", st.Dev, st.Ino, fi.Size(), fi.ModTime().UnixNano(), fi.Mode())
}

func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:12])
}

// ownedPrivate says whether fi belongs to runwire's user and nobody else may write it.
func ownedPrivate(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid() && fi.Mode().Perm()&0o022 == 0
}

func readProbe(dir, file string) (probeEntry, bool) {
	var e probeEntry
	di, err := os.Lstat(dir)
	if err != nil || !di.IsDir() || !ownedPrivate(di) {
		return e, false
	}
	fd, err := syscall.Open(file, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return e, false
	}
	f := os.NewFile(uintptr(fd), file)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || !ownedPrivate(fi) || fi.Size() > 64<<10 {
		return e, false
	}
	raw, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil || json.Unmarshal(raw, &e) != nil {
		return probeEntry{}, false
	}
	return e, true
}

// writeProbe stores e atomically (a private temp file renamed over file); failures are
// ignored: the next start probes again.
func writeProbe(dir, file string, e probeEntry) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return
	}
	if di, err := os.Lstat(dir); err != nil || !di.IsDir() || !ownedPrivate(di) {
		return
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(raw)
	if err := errors.Join(werr, tmp.Close()); err != nil {
		_ = os.Remove(tmp.Name())
		return
	}
	if os.Rename(tmp.Name(), file) != nil {
		_ = os.Remove(tmp.Name())
	}
}
