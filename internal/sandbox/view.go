package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The file system an isolated command sees is built from an empty root,
// not the host's with parts hidden: what is not named here does not exist
// for the command.
//
//   - /usr read-only, with /bin, /sbin and /lib* as on the host (links into
//     /usr on a merged-/usr system);
//   - of /etc only the entries in viewEtc: no shadow, gshadow, sudoers, ssh
//     host keys, ssl/private or service credentials;
//   - /dev (a minimal one), /proc of the command's own PID namespace;
//   - empty tmpfs over /tmp, $HOME, /root, /var, /srv and /mnt;
//   - Cmd.ReadOnly read-only (the toolchain, its caches, the interpreter's
//     libraries), then Cmd.Dir and Cmd.Writable writable.

// viewEtc are the entries of /etc a command sees: what the C library, Go,
// Python and TLS clients read. A glob is allowed.
var viewEtc = []string{
	"passwd", "group", "nsswitch.conf", "hosts", "host.conf", "resolv.conf", "gai.conf", "protocols", "services",
	"localtime", "timezone", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives",
	"ssl/certs", "ssl/openssl.cnf", "ssl/cert.pem", "ca-certificates", "ca-certificates.conf", "pki/tls/certs", "pki/ca-trust",
	"mime.types", "magic", "magic.mime", "os-release", "debian_version", "locale.alias", "locale.conf", "default/locale",
	"gitconfig", "python3*",
}

// viewMasked are host directories replaced by an empty tmpfs.
var viewMasked = []string{"/root", "/var", "/srv", "/mnt"}

// viewTop are top-level entries that hold programs and libraries.
var viewTop = []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}

// viewArgs returns bubblewrap's arguments for c's file system, namespaces
// and working directory, without the command.
func viewArgs(c Cmd) []string {
	a := []string{bwrapPath, "--unshare-pid", "--die-with-parent"}
	if !c.Network {
		a = append(a, "--unshare-net")
	}
	a = append(a, "--ro-bind", "/usr", "/usr")
	for _, p := range viewTop {
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
		case fi.Mode()&os.ModeSymlink != 0:
			if t, err := os.Readlink(p); err == nil {
				a = append(a, "--symlink", t, p)
			}
		case fi.IsDir():
			a = append(a, "--ro-bind", p, p)
		}
	}
	for _, e := range etcEntries() {
		a = append(a, "--ro-bind", e, e)
	}
	a = append(a, "--dev", "/dev", "--proc", "/proc")
	size := []string{}
	if c.Limits.WriteBytes > 0 && bwrapSizes() {
		// Memory-backed: a run fills none of them past its write limit.
		size = []string{"--size", strconv.FormatInt(c.Limits.WriteBytes, 10)}
	}
	home := homeDir()
	masked := map[string]bool{}
	for _, m := range append([]string{"/tmp", home}, viewMasked...) {
		if m != "" && m != "/" && !masked[m] {
			masked[m] = true
			a = append(append(a, size...), "--tmpfs", m)
		}
	}
	for _, p := range readOnlyPaths(c.ReadOnly, home) {
		a = append(a, "--ro-bind", p, p)
	}
	seen := map[string]bool{}
	for _, w := range append([]string{c.Dir}, c.Writable...) {
		if w == "" {
			continue
		}
		abs, err := filepath.Abs(w)
		if err != nil || seen[abs] {
			continue
		}
		seen[abs] = true
		if err := os.MkdirAll(abs, 0o755); err != nil {
			continue
		}
		a = append(a, "--bind", abs, abs)
	}
	if c.Dir != "" {
		a = append(a, "--chdir", c.Dir)
	}
	return a
}

var (
	sizeOnce sync.Once
	sizeOK   bool
)

// bwrapSizes reports whether this bubblewrap can size a tmpfs (--size,
// bubblewrap 0.8 and later).
func bwrapSizes() bool {
	sizeOnce.Do(func() {
		sizeOK = exec.Command(bwrapPath, "--ro-bind", "/", "/", "--size", "1048576", "--tmpfs", "/tmp", "--", "true").Run() == nil
	})
	return sizeOK
}

// etcEntries lists the /etc entries of viewEtc present on this machine.
func etcEntries() []string {
	var out []string
	for _, e := range viewEtc {
		m, _ := filepath.Glob(filepath.Join("/etc", e))
		out = append(out, m...)
	}
	return out
}

func homeDir() string {
	h, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Clean(h)
}

// readOnlyPaths cleans the extra read-only paths: absolute, existing, not
// already under /usr, parents before children. A path that would expose
// the whole root, /etc or a home directory (/, /home, $HOME itself) is left
// out: only the caches under it may be named.
func readOnlyPaths(paths []string, home string) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range paths {
		if p == "" || !filepath.IsAbs(p) {
			continue
		}
		p = filepath.Clean(p)
		if seen[p] || p == "/usr" || strings.HasPrefix(p, "/usr/") || p == "/etc" || strings.HasPrefix(p, "/etc/") {
			continue
		}
		if p == "/" || (home != "" && (p == home || strings.HasPrefix(home+"/", p+"/"))) {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			continue
		}
		seen[p] = true
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) < len(out[j]) })
	return out
}
