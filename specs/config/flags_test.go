package config_test

import (
	"errors"
	"flag"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/config"
)

var _ = Describe("Flags", func() {
	DescribeTable("-h and --help ask for help, which is not an invalid configuration",
		func(arg string) {
			_, err := config.Load([]string{arg}, withToken())
			Expect(errors.Is(err, flag.ErrHelp)).To(BeTrue(), "%v", err)
			Expect(errors.Is(err, config.ErrInvalid)).To(BeFalse())
		},
		Entry(nil, "-h"),
		Entry(nil, "--help"),
		Entry(nil, "-help"),
	)

	It("asks for help even when the rest of the configuration is invalid", func() {
		_, err := config.Load([]string{"--help"}, nil)
		Expect(errors.Is(err, flag.ErrHelp)).To(BeTrue())
	})

	It("rejects an unknown flag", func() {
		err := loadErr([]string{"--nope"}, withToken())
		Expect(err.Error()).To(ContainSubstring("nope"))
	})

	It("has no flag for a secret", func() {
		for _, f := range []string{"--auth-token=x", "--grant-token=x", "--token=x"} {
			Expect(loadErr([]string{f}, withToken()).Error()).To(ContainSubstring("flag provided but not defined"))
		}
	})

	It("rejects a flag value that does not parse, naming the flag", func() {
		err := loadErr([]string{"--max-concurrency=many"}, withToken())
		Expect(err.Error()).To(ContainSubstring("max-concurrency"))
	})

	It("rejects positional arguments, since args hold flags only", func() {
		err := loadErr([]string{"--log-level=debug", "extra"}, withToken())
		Expect(err.Error()).To(ContainSubstring(`"extra"`))
	})

	Describe("Usage", func() {
		It("lists every flag with its variable, and says why secrets have no flags", func() {
			u := config.Usage()
			for _, f := range []string{"--config", "--broker-uri", "--max-concurrency", "--log-level", "--log-format",
				"--health-check ", "--health-check-host", "--health-check-port", "--help"} {
				Expect(u).To(ContainSubstring(f))
			}
			Expect(u).To(ContainSubstring("RUNWIRE_CONFIG"))
			Expect(u).To(ContainSubstring("Secrets have no flags"))
			Expect(u).To(ContainSubstring("N8N_RUNNERS_AUTH_TOKEN_FILE"))
			Expect(u).NotTo(ContainSubstring("--auth-token"))
		})

		It("lists every environment variable", func() {
			u := config.Usage()
			for _, v := range allVariables {
				Expect(u).To(ContainSubstring(v))
			}
		})

		It("shows the real defaults", func() {
			Expect(config.Usage()).To(ContainSubstring("default http://127.0.0.1:5679"))
			Expect(config.Usage()).To(ContainSubstring("default 5681"))
		})
	})
})
