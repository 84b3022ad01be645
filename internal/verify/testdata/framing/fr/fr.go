// Package fr has tests whose output exercises every rule of test2json's
// framing: subtests, parallel tests, output that looks like framing, long
// lines, output without a newline, stderr, panics, os.Exit and timeouts.
package fr
