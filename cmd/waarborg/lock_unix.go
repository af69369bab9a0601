//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"
)

func lockDir(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("data directory is in use by another waarborg process (lock %s): %w", path, err)
	}
	return func() { f.Close() }, nil
}
