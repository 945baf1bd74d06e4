package api

import (
	"crypto/sha256"
	"crypto/subtle"
)

// SharedOperatorName is the name of the operator whose token is ServerConfig.OperatorToken
// (OPERATOR_TOKEN): the one token of deployments without named operators.
const SharedOperatorName = "operator"

// Operator is one person (or tool) allowed on the admin routes, with its own bearer token,
// so event metadata and the access log say which operator acted.
type Operator struct {
	// Name identifies the operator in event metadata ("operator:<name>").
	Name string
	// Token is the operator's bearer token.
	Token string
}

// operators are every configured operator: the named ones and, if set, the shared token.
func (c ServerConfig) operators() []Operator {
	ops := append([]Operator(nil), c.Operators...)
	if c.OperatorToken != "" {
		ops = append(ops, Operator{Name: SharedOperatorName, Token: c.OperatorToken})
	}
	return ops
}

// hasOperators tells whether anyone can use the admin routes: a shared token of at least 16
// characters or a named operator (whose token the configuration has checked).
func (c ServerConfig) hasOperators() bool {
	return len(c.OperatorToken) >= 16 || (c.OperatorToken == "" && len(c.Operators) > 0)
}

// operatorNamed returns the name of the operator whose token this is. It compares digests,
// so neither the content nor the length of a configured token leaks through timing, and it
// compares with every operator's token without stopping at a match, so which operator
// matched (or how many were tried) does not leak either.
func (s *Server) operatorNamed(token string) (string, bool) {
	got := sha256.Sum256([]byte(token))
	name, found := "", 0
	for _, op := range s.cfg.operators() {
		want := sha256.Sum256([]byte(op.Token))
		if subtle.ConstantTimeCompare(got[:], want[:]) == 1 {
			name, found = op.Name, 1
		}
	}
	return name, found == 1
}
