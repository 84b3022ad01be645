//go:build !unix

package main

import "os/exec"

// detach does nothing: without sessions the background worker stays tied
// to the console that started it.
func detach(*exec.Cmd) {}
