package pipeline

import "time"

// Pipeline is a parsed and validated pipeline file.
type Pipeline struct {
	// Name is the pipeline's name: the file's name: key, else the file name.
	Name string
	// File is the path the pipeline was read from.
	File string
	// Agent is the default agent of generate stages; empty means the engine's.
	Agent string
	// Concurrency is how many agent tasks should run at once; 0 means the
	// worker's own setting. A caller that starts a worker for the run gives it
	// this many slots.
	Concurrency int
	// Env is added to every run stage's environment.
	Env map[string]string
	// Stages in file order.
	Stages []*Stage
}

// Stage returns the stage with the given name, or nil.
func (p *Pipeline) Stage(name string) *Stage {
	for _, s := range p.Stages {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Kind is what a stage does.
type Kind string

// The kinds of stage.
const (
	KindRun      Kind = "run"
	KindGenerate Kind = "generate"
	KindCollect  Kind = "collect"
)

// Stage is one node of the pipeline.
type Stage struct {
	Name string
	Kind Kind
	// Needs are the stages that must succeed before this one starts. For a
	// collect stage they include the generate stages it collects.
	Needs []string
	// Line is where the stage is defined in the file.
	Line int

	needsLine int // line of needs:, for graph problems

	Run      *RunSpec      // set when Kind is KindRun
	Generate *GenerateSpec // set when Kind is KindGenerate
	Collect  *CollectSpec  // set when Kind is KindCollect
}

// RunSpec is a shell command stage.
type RunSpec struct {
	// Command is run with /bin/sh -e -c in WorkingDirectory.
	Command string
	// Env is added to the pipeline's env; it wins over it.
	Env map[string]string
	// Timeout stops the command's process group; 0 means none.
	Timeout time.Duration
	// ContinueOnError lets dependents run when the command fails.
	ContinueOnError bool
	// WorkingDirectory is relative to the workspace; empty means the workspace.
	WorkingDirectory string
}

// GenerateSpec is a test-generation stage.
type GenerateSpec struct {
	// Modules are paths or globs relative to the workspace ("**" matches any
	// number of directories). Test files and generated code are excluded.
	Modules []string
	// Coverage is the threshold in percent; nil means the engine's default.
	Coverage *float64
	// Agent overrides the pipeline's agent.
	Agent string
	// Model is passed to the agent.
	Model string
	// Output is a pattern for the output path with {dir}, {file} and
	// {stem} placeholders; empty means the language's convention. It must
	// name a test file where verify.CheckOutput lets kept tests land.
	Output string
	// Line of the modules: key, for errors found when the stage runs.
	ModulesLine int
}

// Require says how many collected tasks must succeed.
type Require string

// The collect policies.
const (
	RequireAll  Require = "all"  // every task completed with success
	RequireAny  Require = "any"  // at least one task completed with success
	RequireNone Require = "none" // tasks only have to be waited for
)

// CollectSpec is a stage that waits for the tasks of generate stages.
type CollectSpec struct {
	// From names the generate stages whose tasks are collected.
	From []string
	// Timeout bounds the wait; 0 means none. Tasks keep running after it.
	Timeout time.Duration
	// Require is the success policy; the default is RequireAll.
	Require Require

	line int // line of collect:, for graph problems
}
