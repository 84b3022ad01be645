//go:build unix

package main

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// lockCard takes a background worker's card's lock without waiting.
func lockCard(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) }

// cardHeld tells whether lockCard failed because a live worker holds the card.
func cardHeld(err error) bool { return errors.Is(err, unix.EWOULDBLOCK) }

// descriptorIs tells whether the open descriptor fd is the file at path.
func descriptorIs(fd int, path string) bool {
	var a, b unix.Stat_t
	return unix.Fstat(fd, &a) == nil && unix.Stat(path, &b) == nil && a.Dev == b.Dev && a.Ino == b.Ino
}

func closeOnExec(fd int) { unix.CloseOnExec(fd) }

// waitLock takes f's exclusive lock, waiting for it.
func waitLock(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_EX) }
