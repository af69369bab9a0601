//go:build ignore

// Freeport prints a loopback TCP port that the OS had free a moment ago, for
// services such as PostgreSQL that cannot be told to listen on port 0.
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer l.Close()
	fmt.Println(l.Addr().(*net.TCPAddr).Port)
}
