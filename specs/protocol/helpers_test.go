package protocol_test

import (
	"errors"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/transport"
)

// secret is a credential-like value planted in frames; no error text may repeat it.
const secret = "sk-live-7f3a9c2e41b8d6"

// decodeError decodes frame, which must fail, and returns the *transport.DecodeError.
func decodeError(frame string) *transport.DecodeError {
	GinkgoHelper()
	m, err := transport.Decode([]byte(frame))
	Expect(err).To(HaveOccurred(), "Decode accepted the frame as %#v", m)
	Expect(m).To(BeNil())
	var de *transport.DecodeError
	Expect(errors.As(err, &de)).To(BeTrue(), "error %q (%T) is not a *transport.DecodeError", err, err)
	return de
}

// expectNoContent fails if the error, however it is printed, repeats planted or any
// distinctive part of it.
func expectNoContent(err error, planted string) {
	GinkgoHelper()
	Expect(len(planted)).To(BeNumerically(">=", 12), "a planted value must be distinctive")
	for _, text := range []string{err.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		Expect(text).NotTo(ContainSubstring(planted))
		Expect(text).NotTo(ContainSubstring(planted[len(planted)-8:]))
	}
}

// encode encodes m, which must succeed, and returns the frame as a string.
func encode(m transport.RunnerMessage) string {
	GinkgoHelper()
	b, err := transport.Encode(m)
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}

func ptr[T any](v T) *T { return &v }
