package verify

import (
	"path/filepath"
	"slices"
)

// GoTestRun is what one go test -json run says, read as verification reads
// it, for the builtin agent, which checks the tests it writes with go test
// too.
type GoTestRun struct {
	// Failed names the top-level tests that failed, timed out or were
	// running when the test binary died.
	Failed []string
	// FailedSubtests names the subtests that failed ("TestX/case").
	FailedSubtests []string
	// Output is the run's transcript, as go test prints it without -json.
	Output string
}

// ReadGoTestJSON reads go test -json output (build events included).
func ReadGoTestJSON(out []byte) GoTestRun {
	r := readGoEvents(out)
	res, transcript := r.result("", "", false)
	run := GoTestRun{FailedSubtests: r.subFailed, Output: transcript}
	for name, o := range res.Tests {
		if o.Status == statusFail || o.Status == statusTimeout {
			run.Failed = append(run.Failed, name)
		}
	}
	slices.Sort(run.Failed)
	return run
}

// GoStatementCoverage is the statement coverage, in percent, of a Go
// package's files in a coverage profile, counted as verification and go
// tool cover -func count it: a block repeated across -coverpkg packages
// once, statements of the files' functions only. importPath is the
// package's; files are the paths of the files that count.
func GoStatementCoverage(profile []byte, importPath string, files []string) (float64, error) {
	mf := make([]goModuleFile, len(files))
	for i, f := range files {
		mf[i] = goModuleFile{ProfileName: importPath + "/" + filepath.Base(f), Rel: filepath.ToSlash(f)}
	}
	if err := loadGoModuleFiles("", mf); err != nil {
		return 0, err
	}
	mc, err := goCoverage(profile, mf)
	if err != nil {
		return 0, err
	}
	return mc.Percent, nil
}
