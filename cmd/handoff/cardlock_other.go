//go:build !unix

package main

import (
	"errors"
	"os"
)

// Background workers' cards need file locks; where there are none, no card
// counts as held and a worker never takes one over.
var errNoCardLocks = errors.New("background worker cards need Unix file locks")

func lockCard(*os.File) error { return errNoCardLocks }

func cardHeld(error) bool { return false }

func descriptorIs(int, string) bool { return false }

func closeOnExec(int) {}

func waitLock(*os.File) error { return errNoCardLocks }
