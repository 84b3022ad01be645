package verify

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/handoff-dev/handoff/internal/sandbox"
)

// goFactsLimit bounds the entries of each map of a goFactCache; when full,
// the map starts afresh.
const goFactsLimit = 512

// goFacts is the process's goFactCache. It is process-wide by nature, like
// sandbox.BwrapAvailable's probe: what it holds depends on the machine and
// on file contents, never on one session.
var goFacts = &goFactCache{}

// goFactCache remembers answers of the go command that cannot change while
// everything the go command read for them stays the same, so that the
// Measure, Verify and Recheck calls of one process ask only once:
//
//   - go env GOCACHE: depends on the environment, the go installation and
//     go's configuration file (GOENV), whose content is checked on every
//     use;
//   - go list's import path and files of the module's package: depend, in
//     addition, on go.mod, vendor/modules.txt and the names and content of
//     the package directory's non-test Go files, all part of the key, and
//     not on where the module lies. Packages where that does
//     not hold are never cached: a go.work in or above the module, cgo
//     (whether it is on depends on the C compiler installed), GOFLAGS with
//     -mod flags (-mod=mod lets go list edit go.mod), and GOWORK or
//     GO111MODULE in the configuration file.
type goFactCache struct {
	mu       sync.Mutex
	env      map[string]goEnvFacts
	packages map[string]goPackageFacts
}

// goEnvFacts is what go env said.
type goEnvFacts struct {
	CacheDir   string `json:"GOCACHE"`
	ConfigFile string `json:"GOENV"`
	Root       string `json:"GOROOT"`
	ModCache   string `json:"GOMODCACHE"`
	config     []byte // the configuration file's content then
}

// goPackageFacts is what go list said about a package.
type goPackageFacts struct {
	importPath string
	sources    []string // GoFiles, then CgoFiles
}

// goEnvKey identifies what go env's answers depend on besides the
// configuration file: the environment commands get and the go binary. It
// is empty when the go binary cannot be found.
func goEnvKey(env []string) string {
	p, err := exec.LookPath("go")
	if err != nil {
		return ""
	}
	fi, err := os.Stat(p)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%s\x00%d\x00%d\x00%s", p, fi.Size(), fi.ModTime().UnixNano(), strings.Join(sandbox.ScrubbedEnv(env...), "\x00"))
}

// envFacts returns the remembered go env answer for key, if the
// configuration file has not changed since.
func (c *goFactCache) envFacts(key string) (goEnvFacts, bool) {
	if key == "" {
		return goEnvFacts{}, false
	}
	c.mu.Lock()
	f, ok := c.env[key]
	c.mu.Unlock()
	if !ok || !bytes.Equal(readOptional(f.ConfigFile), f.config) {
		return goEnvFacts{}, false
	}
	return f, true
}

func (c *goFactCache) putEnvFacts(key string, f goEnvFacts) {
	if key == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.env == nil || len(c.env) >= goFactsLimit {
		c.env = map[string]goEnvFacts{}
	}
	c.env[key] = f
}

func (c *goFactCache) packageFacts(key string) (goPackageFacts, bool) {
	if key == "" {
		return goPackageFacts{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.packages[key]
	return f, ok
}

func (c *goFactCache) putPackageFacts(key string, f goPackageFacts) {
	if key == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.packages == nil || len(c.packages) >= goFactsLimit {
		c.packages = map[string]goPackageFacts{}
	}
	c.packages[key] = f
}

// goPackageKey identifies everything go list -e -json <pattern>, run in
// modRoot with env added to the scrubbed environment, reads for a
// package's import path and files; it is empty when the package must not
// be cached (see goFactCache). ef is go env's answer in this process.
func goPackageKey(env []string, ef goEnvFacts, modRoot, pattern, pkgDir string) string {
	var kept []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "TMPDIR=") { // a scratch directory per session; go list does not depend on it
			kept = append(kept, kv)
		}
	}
	envKey := goEnvKey(kept)
	if envKey == "" || containsAny(string(ef.config), "GOWORK", "GO111MODULE", "-mod") {
		return ""
	}
	for _, kv := range sandbox.ScrubbedEnv(kept...) {
		if strings.HasPrefix(kv, "GOWORK=") || strings.HasPrefix(kv, "GO111MODULE=") || strings.HasPrefix(kv, "GOFLAGS=") && strings.Contains(kv, "-mod") {
			return ""
		}
	}
	for d := modRoot; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.work")); err == nil {
			return ""
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	h := sha256.New()
	field := func(parts ...string) {
		for _, p := range parts {
			fmt.Fprintf(h, "%d:%s", len(p), p)
		}
	}
	field("go list -e -json", pattern, envKey, ef.ConfigFile, string(ef.config))
	for _, f := range []string{"go.mod", filepath.Join("vendor", "modules.txt")} {
		data, err := os.ReadFile(filepath.Join(modRoot, f))
		if err != nil && !os.IsNotExist(err) {
			return ""
		}
		field(f, fmt.Sprint(err == nil), string(data))
	}
	entries, err := os.ReadDir(pkgDir)
	if err != nil {
		return ""
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		name := e.Name()
		if !IsGoSource(name) {
			continue // neither other files nor test files change the answer
		}
		field(name, e.Type().String())
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(pkgDir, name))
		if err != nil {
			return ""
		}
		if bytes.Contains(data, []byte(`"C"`)) {
			return "" // cgo, maybe
		}
		field(string(data))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// readOptional reads a file, nil when it cannot be read (absent).
func readOptional(path string) []byte {
	if path == "" {
		return nil
	}
	data, _ := os.ReadFile(path)
	return data
}
