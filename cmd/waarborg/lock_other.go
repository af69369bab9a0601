//go:build !unix

package main

// lockDir does not lock where flock is missing: run one waarborg per data
// directory there.
func lockDir(string) (func(), error) { return func() {}, nil }
