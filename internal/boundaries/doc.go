// Package boundaries holds the module's import table and the test that enforces it: which
// package may import which (STYLE.md, "Dependencies point inward"). It has no code of its own
// and must be imported by nothing.
package boundaries
