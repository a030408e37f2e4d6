package python_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/python"
)

var _ = Describe("The interpreter probe cache", func() {
	var (
		dir, cache, interp, count string
	)
	// runs is how many times the fake interpreter has been probed.
	runs := func() int {
		b, err := os.ReadFile(count)
		if os.IsNotExist(err) {
			return 0
		}
		Expect(err).NotTo(HaveOccurred())
		return strings.Count(string(b), "\n")
	}
	writeInterp := func(version string) {
		script := "#!/bin/sh\necho run >> " + count + "\necho " + interp + "\necho " + version + "\n"
		Expect(os.WriteFile(interp, []byte(script), 0o700)).To(Succeed())
	}
	discover := func() (python.Interpreter, bool) {
		GinkgoHelper()
		in, cached, err := python.DiscoverCached(context.Background(), interp, cache)
		Expect(err).NotTo(HaveOccurred())
		return in, cached
	}
	BeforeEach(func() {
		dir = GinkgoT().TempDir()
		cache, interp, count = filepath.Join(dir, "cache"), filepath.Join(dir, "python3"), filepath.Join(dir, "runs")
		GinkgoT().Setenv("PYENV_ROOT", filepath.Join(dir, "pyenv"))
		Expect(os.Mkdir(filepath.Join(dir, "pyenv"), 0o700)).To(Succeed())
		writeInterp("3.12.1")
	})

	It("probes once, then answers from the cache until the interpreter changes", func() {
		in, cached := discover()
		Expect(cached).To(BeFalse())
		Expect(in).To(Equal(python.Interpreter{Path: interp, Version: "3.12.1"}))
		in, cached = discover()
		Expect(cached).To(BeTrue())
		Expect(in.Version).To(Equal("3.12.1"))
		Expect(runs()).To(Equal(1))

		writeInterp("3.13.10") // replaced in place: another size and mtime
		in, cached = discover()
		Expect(cached).To(BeFalse())
		Expect(in.Version).To(Equal("3.13.10"))
		Expect(runs()).To(Equal(2))
	})

	It("probes again when pyenv's selection changes ($PYENV_ROOT/version, PYENV_VERSION)", func() {
		discover()
		Expect(os.WriteFile(filepath.Join(dir, "pyenv", "version"), []byte("3.13.10\n"), 0o600)).To(Succeed())
		_, cached := discover()
		Expect(cached).To(BeFalse())
		GinkgoT().Setenv("PYENV_VERSION", "3.9.20")
		_, cached = discover()
		Expect(cached).To(BeFalse())
		_, cached = discover()
		Expect(cached).To(BeTrue())
		Expect(runs()).To(Equal(3))
	})

	It("ignores a cache entry others may write, or one behind a symbolic link", func() {
		discover()
		entries, err := filepath.Glob(filepath.Join(cache, "probe-*.json"))
		Expect(err).NotTo(HaveOccurred())
		Expect(entries).To(HaveLen(1))
		entry := entries[0]

		Expect(os.Chmod(entry, 0o620)).To(Succeed()) // group-writable: a forged path could be executed
		_, cached := discover()
		Expect(cached).To(BeFalse())
		Expect(runs()).To(Equal(2))

		raw, err := os.ReadFile(entry) // the rewrite is private again
		Expect(err).NotTo(HaveOccurred())
		Expect(os.Remove(entry)).To(Succeed())
		elsewhere := filepath.Join(dir, "elsewhere.json")
		Expect(os.WriteFile(elsewhere, raw, 0o600)).To(Succeed())
		Expect(os.Symlink(elsewhere, entry)).To(Succeed())
		_, cached = discover()
		Expect(cached).To(BeFalse())
		Expect(runs()).To(Equal(3))

		Expect(os.Chmod(cache, 0o777)).To(Succeed()) // a directory others may write
		_, cached = discover()
		Expect(cached).To(BeFalse())
		Expect(runs()).To(Equal(4))
	})
})
