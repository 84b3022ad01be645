// Package greet has a module dependency (testify, in its tests), so that
// verification must download modules before running tests offline.
package greet

// Hello greets name, or the world when name is empty.
func Hello(name string) string {
	if name == "" {
		return "hello, world"
	}
	return "hello, " + name
}
