package builtin_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/handoff-dev/handoff/agent/builtin"
)

// realworldEnv runs the whole real-world set; without it only the first
// module runs, to keep the package's tests short on a 2-core machine.
const realworldEnv = "HANDOFF_BUILTIN_REALWORLD"

// realworldOutEnv names a directory the generated files and the agent's
// logs are copied to, for reading them.
const realworldOutEnv = "HANDOFF_BUILTIN_REALWORLD_OUT"

// realworldModule is one file of a real module copied, with its licence,
// into testdata/realworld.
type realworldModule struct {
	dir  string // under testdata/realworld
	file string // the module given to the agent, relative to dir
}

var realworldModules = []realworldModule{
	{dir: "match", file: "match.go"},                    // github.com/tidwall/match v1.2.0, MIT, go 1.15
	{dir: "xmod", file: "semver/semver.go"},             // golang.org/x/mod v0.42.0, BSD-3-Clause
	{dir: "xmod", file: "module/module.go"},             // golang.org/x/mod v0.42.0, BSD-3-Clause
	{dir: "humanize", file: "bytes.go"},                 // github.com/dustin/go-humanize v1.1.0, MIT
	{dir: "uritemplate", file: "uritemplate.go"},        // github.com/yosida95/uritemplate/v3 v3.0.2, BSD-3-Clause, go 1.14
	{dir: "uuid", file: "uuid.go"},                      // github.com/google/uuid v1.6.0, BSD-3-Clause, no go line
	{dir: "pgx", file: "internal/sanitize/sanitize.go"}, // github.com/jackc/pgx/v5 v5.12.0, MIT, go 1.25
	{dir: "xmod", file: "sumdb/tlog/tlog.go"},           // golang.org/x/mod v0.42.0, BSD-3-Clause
}

// TestRealworld generates tests for files of real modules and reports the
// statement coverage of each file by its generated tests and the time it
// took. The generated tests must pass three times in shuffled order, assert
// something in every case and pass go vet. Set HANDOFF_BUILTIN_REALWORLD=1
// for the whole set; -parallel 1 generates one file at a time, for times.
func TestRealworld(t *testing.T) {
	t.Parallel()
	mods := realworldModules
	if os.Getenv(realworldEnv) == "" {
		mods = mods[:1]
	}
	type figure struct {
		coverage float64
		took     time.Duration
	}
	var mu sync.Mutex
	figures := map[string]figure{}
	t.Run("modules", func(t *testing.T) {
		for _, m := range mods {
			name := m.dir + "/" + m.file
			t.Run(strings.ReplaceAll(name, "/", "_"), func(t *testing.T) {
				t.Parallel()
				dir := copyModule(t, filepath.Join("testdata", "realworld", m.dir), "")
				task, log := newTask(dir, m.file, "")
				rep, src, took := generate(t, builtin.Config{}, task)
				if out := os.Getenv(realworldOutEnv); out != "" {
					base := filepath.Join(out, strings.ReplaceAll(name, "/", "_"))
					require.NoError(t, os.MkdirAll(out, 0o755))
					require.NoError(t, os.WriteFile(base+"_test.go.txt", src, 0o644))
					var why strings.Builder
					for _, u := range rep.Unsupported {
						fmt.Fprintf(&why, "unsupported %s: %s\n", u.Name, u.Reason)
					}
					require.NoError(t, os.WriteFile(base+".log", append(log.Bytes(), rep.Summary+"\n"+why.String()...), 0o644))
				}
				requireAssertions(t, src)
				pkgDir := filepath.Join(dir, filepath.Dir(m.file))
				cov := goTestCover(t, pkgDir, []string{"-shuffle=on"}, filepath.Base(m.file))
				requireVetClean(t, pkgDir, rep.Details["output"].(string))
				// Within a point: code behind a sync.Pool (pgx) runs or not
				// depending on the collector.
				require.InDelta(t, rep.Details["coverage_percent"], cov, 1.0, "log:\n%s", log)
				mu.Lock()
				figures[name] = figure{coverage: cov, took: took}
				mu.Unlock()
			})
		}
	})
	if t.Failed() {
		return
	}
	if len(figures) == 0 {
		return
	}
	names := make([]string, 0, len(figures))
	var sum float64
	var total time.Duration
	for n, f := range figures {
		names = append(names, n)
		sum += f.coverage
		total += f.took
	}
	sort.Strings(names)
	var table strings.Builder
	fmt.Fprintf(&table, "\n| file | coverage | generation time |\n|---|---|---|\n")
	for _, n := range names {
		fmt.Fprintf(&table, "| %s | %.1f %% | %.1f s |\n", n, figures[n].coverage, figures[n].took.Seconds())
	}
	avg := sum / float64(len(figures))
	fmt.Fprintf(&table, "| average | %.1f %% | %.1f s |\n", avg, total.Seconds()/float64(len(figures)))
	t.Log(table.String())
	if len(figures) < len(mods) {
		return // -run chose some of the files
	}
	require.GreaterOrEqual(t, avg, 75.0, "average coverage on real modules")
}

// requireVetClean runs go vet on the package in pkgDir and fails on what it
// reports about the generated file (rel, relative to the task directory);
// the module's own files are not ours to judge.
func requireVetClean(t *testing.T, pkgDir, rel string) {
	t.Helper()
	cmd := exec.Command("go", "vet", ".")
	cmd.Dir = pkgDir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off")
	out, err := cmd.CombinedOutput()
	if err == nil {
		return
	}
	base := filepath.Base(rel)
	for _, line := range strings.Split(string(out), "\n") {
		require.NotContains(t, line, base+":", "go vet reports on the generated tests:\n%s", out)
	}
}
