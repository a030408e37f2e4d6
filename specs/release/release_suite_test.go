package release_test

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/runwire/runwire/specs/support"
)

func TestRelease(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Release builds")
}

// Every spec ends with a goroutine-leak check; see support.ConfigureSuite.
var _ = support.ConfigureSuite()
