package workspace

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// benchWorkspace builds a workspace of 1,000 files of about 2 KB in 20
// packages; for git it is committed, then a few files are modified and a
// few added, as a workspace under active work looks.
func benchWorkspace(b *testing.B, kind string) string {
	b.Helper()
	root := newDir(b)
	files := map[string]string{}
	for p := range 20 {
		for f := range 50 {
			files[fmt.Sprintf("pkg%02d/file%02d.go", p, f)] = fmt.Sprintf("package pkg%02d\n\n// file %d\n%s", p, f, strings.Repeat("// filler line of ordinary source text\n", 50))
		}
	}
	writeFiles(b, root, files)
	if kind == KindGit {
		runGit(b, root, "init", "-q")
		runGit(b, root, "add", "-A")
		runGit(b, root, "commit", "-q", "-m", "init")
	}
	writeFiles(b, root, map[string]string{
		"pkg00/file00.go": "package pkg00 // modified\n", "pkg05/file07.go": "package pkg05 // modified\n",
		"pkg10/file10.go": "package pkg10 // modified\n", "pkg19/new.go": "package pkg19 // untracked\n",
		"pkg03/new_test.go": "package pkg03 // untracked\n",
	})
	return root
}

// reportPercentiles adds p50 and p90 of the per-iteration durations.
func reportPercentiles(b *testing.B, d []time.Duration) {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	ms := func(q float64) float64 { return float64(d[int(q*float64(len(d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(ms(0.5), "p50-ms")
	b.ReportMetric(ms(0.9), "p90-ms")
}

// BenchmarkTake: one snapshot, as a submit takes, and a batch of five, as a
// pipeline's generate stage takes for five modules (TakeMany). In git, the
// "changed" variants rewrite a file before each snapshot, so the tree is
// written every time; the others take the same workspace again and again,
// so its last tree is reused.
func BenchmarkTake(b *testing.B) {
	for _, kind := range []string{KindGit, KindGit + "-changed", KindCopy} {
		for _, n := range []int{1, 5} {
			b.Run(fmt.Sprintf("%s/ids=%d", kind, n), func(b *testing.B) {
				ctx := context.Background()
				root := benchWorkspace(b, strings.TrimSuffix(kind, "-changed"))
				var times []time.Duration
				i := 0
				for b.Loop() {
					ids := make([]string, n)
					for k := range ids {
						ids[k] = fmt.Sprintf("bench-%d-%d", i, k)
					}
					if strings.HasSuffix(kind, "-changed") {
						writeFiles(b, root, map[string]string{"pkg07/file07.go": fmt.Sprintf("package pkg07 // change %d\n", i)})
					}
					start := time.Now()
					snaps, err := TakeMany(ctx, root, ids)
					times = append(times, time.Since(start))
					require.NoError(b, err)
					require.Equal(b, strings.TrimSuffix(kind, "-changed"), snaps[0].Kind)
					b.StopTimer()
					for _, s := range snaps {
						require.NoError(b, s.Release(ctx))
					}
					b.StartTimer()
					i++
				}
				reportPercentiles(b, times)
			})
		}
	}
}

func BenchmarkMaterialize(b *testing.B) {
	for _, kind := range []string{KindGit, KindCopy} {
		b.Run(kind, func(b *testing.B) {
			ctx := context.Background()
			root := benchWorkspace(b, kind)
			snap, err := Take(ctx, root, "bench")
			require.NoError(b, err)
			base := newDir(b)
			var times []time.Duration
			i := 0
			for b.Loop() {
				dst := filepath.Join(base, fmt.Sprint(i), "work")
				start := time.Now()
				require.NoError(b, snap.Materialize(ctx, dst))
				times = append(times, time.Since(start))
				i++
			}
			reportPercentiles(b, times)
		})
	}
}

func BenchmarkDiff(b *testing.B) {
	ctx := context.Background()
	root := benchWorkspace(b, KindGit)
	snap, err := Take(ctx, root, "bench")
	require.NoError(b, err)
	dst := filepath.Join(newDir(b), "work")
	require.NoError(b, snap.Materialize(ctx, dst))
	writeFiles(b, dst, map[string]string{"pkg01/gen_test.go": "package pkg01\n"})
	for b.Loop() {
		changes, err := Diff(dst)
		require.NoError(b, err)
		require.Len(b, changes, 1)
	}
}

// BenchmarkFindNewer: what deciding that the last tree can be reused costs
// on the same 1,000-file workspace, once git is out of the picture: a walk
// that finds nothing written since the marker.
func BenchmarkFindNewer(b *testing.B) {
	root := benchWorkspace(b, KindGit)
	marker := time.Now().Add(time.Hour).UnixNano()
	var times []time.Duration
	for b.Loop() {
		start := time.Now()
		_, found, err := findNewer(root, marker, 100_000, nil)
		times = append(times, time.Since(start))
		require.NoError(b, err)
		require.False(b, found)
	}
	reportPercentiles(b, times)
}
