package protocol_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The protocol specs pin runwire's wire messages to what n8n sends and expects: every broker
// message decodes from a frame as n8n writes it, every runner message encodes to the JSON
// n8n's broker reads. The codec is pure (no goroutines, no I/O), so these specs need no
// timeouts or leak checks.
func TestProtocol(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Protocol")
}
