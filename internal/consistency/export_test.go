package consistency

import (
	"encoding/base64"
	"testing"
)

// MacOf signs any payload, so tests reach the checks behind the signature.
func MacOf(_ testing.TB, s *Signer, payload string) string {
	return base64.RawURLEncoding.EncodeToString(s.mac([]byte(payload)))
}
