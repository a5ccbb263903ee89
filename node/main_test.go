package node

import (
	"testing"

	"github.com/seedbed/seedbed/internal/testenv"
)

// TestMain stops the throw-away Redis of the peer store tests.
func TestMain(m *testing.M) { testenv.Main(m) }
