package config_test

import (
	"errors"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/config"
)

// token is distinctive so that finding it anywhere it must not be is
// unambiguous; grantToken is a second, different one.
const (
	token      = "tok-7f3a9c-DISTINCTIVE-c0ffee"
	grantToken = "grant-41d2e8-DISTINCTIVE-beef"
)

// withToken returns environ with an auth token first, so Load can succeed;
// later entries win, so env can still override it.
func withToken(env ...string) []string {
	return append([]string{"N8N_RUNNERS_AUTH_TOKEN=" + token}, env...)
}

// mustLoad loads and fails the spec on any error.
func mustLoad(args []string, environ []string) config.Config {
	GinkgoHelper()
	cfg, err := config.Load(args, environ)
	Expect(err).NotTo(HaveOccurred())
	return cfg
}

// loadErr loads, requires an error, and checks that every problem in it
// satisfies ErrInvalid.
func loadErr(args []string, environ []string) error {
	GinkgoHelper()
	_, err := config.Load(args, environ)
	Expect(err).To(HaveOccurred())
	Expect(errors.Is(err, config.ErrInvalid)).To(BeTrue(), "error must satisfy errors.Is(err, config.ErrInvalid): %v", err)
	for _, p := range problems(err) {
		Expect(errors.Is(p, config.ErrInvalid)).To(BeTrue(), "problem must satisfy ErrInvalid: %v", p)
	}
	return err
}

// problems splits an errors.Join result into its parts.
func problems(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// writeFile writes content to a fresh temporary file and returns its path.
func writeFile(name, content string) string {
	GinkgoHelper()
	p := filepath.Join(GinkgoT().TempDir(), name)
	Expect(os.WriteFile(p, []byte(content), 0o600)).To(Succeed())
	return p
}
