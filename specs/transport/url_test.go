package transport_test

import (
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/transport"
)

var _ = Describe("Broker URLs", func() {
	DescribeTable("the runner endpoint keeps TLS and ignores any path",
		func(uri, want string) {
			got, err := transport.WebSocketURL(uri, "RID")
			Expect(err).NotTo(HaveOccurred())
			Expect(got).To(Equal(want))
		},
		Entry("http → ws", "http://127.0.0.1:5679", "ws://127.0.0.1:5679/runners/_ws?id=RID"),
		Entry("https → wss", "https://n8n.example:443", "wss://n8n.example:443/runners/_ws?id=RID"),
		Entry("ws stays ws", "ws://broker:5679", "ws://broker:5679/runners/_ws?id=RID"),
		Entry("wss stays wss", "wss://broker", "wss://broker/runners/_ws?id=RID"),
		Entry("a path is ignored, as n8n's runners do", "http://broker:5679/custom/base/", "ws://broker:5679/runners/_ws?id=RID"),
		Entry("IPv6", "http://[::1]:5679", "ws://[::1]:5679/runners/_ws?id=RID"),
	)

	DescribeTable("the grant endpoint",
		func(uri, want string) {
			Expect(transport.AuthURL(uri)).To(Equal(want))
		},
		Entry("http", "http://127.0.0.1:5679", "http://127.0.0.1:5679/runners/auth"),
		Entry("wss → https", "wss://broker", "https://broker/runners/auth"),
	)

	DescribeTable("refuses what is not a broker URI",
		func(uri, want string) {
			_, err := transport.WebSocketURL(uri, "RID")
			Expect(err).To(MatchError(ContainSubstring(want)))
		},
		Entry("ftp", "ftp://broker", `scheme "ftp"`),
		Entry("no host", "http://", "no host"),
		Entry("garbage", "::not a url", "invalid broker URI"),
	)
})

var _ = Describe("NewID", func() {
	It("is 22 alphanumeric characters and does not repeat", func() {
		seen := map[string]bool{}
		for range 1000 {
			id := transport.NewID()
			Expect(id).To(MatchRegexp(`^[A-Za-z0-9]{22}$`))
			Expect(seen).NotTo(HaveKey(id))
			seen[id] = true
		}
	})

	It("uses the whole alphabet", func() {
		all := ""
		for range 200 {
			all += transport.NewID()
		}
		for _, class := range []string{`[A-Z]`, `[a-z]`, `[0-9]`, `9`, `A`, `z`} {
			Expect(regexp.MustCompile(class).MatchString(all)).To(BeTrue(), class)
		}
	})
})
