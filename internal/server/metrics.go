package server

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/handofftype"
	"github.com/handoff-dev/handoff/internal/store"
)

// metrics is the server's Prometheus registry (GET /metrics): what the
// database holds, read at each scrape, and what this server saw end: each
// task that became final while it ran, counted once.
type metrics struct {
	reg      *prometheus.Registry
	inFlight prometheus.Gauge
	requests *prometheus.CounterVec
	finished *prometheus.CounterVec
	duration *prometheus.HistogramVec
	phases   *prometheus.HistogramVec
	funnel   *prometheus.CounterVec
	failures *prometheus.CounterVec

	handler http.Handler

	mu      sync.Mutex
	counted map[string]time.Time // task ID → when it was counted
}

// durationBuckets spans a task's phases: a second of baseline to an hour
// of agent time.
var durationBuckets = []float64{0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600}

// funnelSteps are Result.Funnel's steps, in order.
var funnelSteps = []string{"generated", "built", "passed", "stable", "improved", "kept"}

var finalStates = []handofftype.State{handofftype.StateCompleted, handofftype.StateFailed, handofftype.StateCancelled}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), counted: map[string]time.Time{},
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{Name: "handoff_http_requests_in_flight",
			Help: "HTTP requests being answered now, result long-polls and event streams included."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "handoff_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code."}, []string{"route", "code"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "handoff_tasks_finished_total",
			Help: "Tasks that became final while this server ran, by final state."}, []string{"state"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "handoff_task_duration_seconds",
			Help: "Final tasks' time from submit to result (Timings.Queued + Timings.Run), by final state.", Buckets: durationBuckets}, []string{"state"}),
		phases: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "handoff_task_phase_duration_seconds",
			Help:    "Final tasks' time in each phase (Result.Timings: queued, run, baseline, agent, verify); phases a task did not reach are not observed.",
			Buckets: durationBuckets}, []string{"phase"}),
		funnel: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "handoff_funnel_tests_total",
			Help: "Generated tests reaching each acceptance step (Result.Funnel), over final tasks."}, []string{"step"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "handoff_task_failures_total",
			Help: "FAILED tasks by failure class (Result.FailureClass)."}, []string{"class"}),
	}
	for _, st := range finalStates {
		m.finished.WithLabelValues(string(st))
	}
	for _, step := range funnelSteps {
		m.funnel.WithLabelValues(step)
	}
	for _, c := range handofftype.FailureClasses {
		m.failures.WithLabelValues(string(c))
	}
	m.reg.MustRegister(m.inFlight, m.requests, m.finished, m.duration, m.phases, m.funnel, m.failures, &dbCollector{s: s},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
	return m
}

// request counts one answered request. route is the mux's pattern
// ("GET /v1/tasks/{id}"), so that task IDs do not become series.
func (m *metrics) request(route string, code int) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
}

// countedFor is how long a counted task is remembered, so that a second
// sight of its final state is not counted again.
const countedFor = time.Hour

// final counts a task that became final, once.
func (m *metrics) final(res *handoff.Result) {
	now := time.Now()
	m.mu.Lock()
	if _, ok := m.counted[res.TaskID]; ok {
		m.mu.Unlock()
		return
	}
	m.counted[res.TaskID] = now
	for id, at := range m.counted {
		if now.Sub(at) > countedFor {
			delete(m.counted, id)
		}
	}
	m.mu.Unlock()

	state := string(res.State)
	m.finished.WithLabelValues(state).Inc()
	t := res.Timings
	m.duration.WithLabelValues(state).Observe((t.Queued + t.Run).Seconds())
	for phase, d := range map[string]time.Duration{"queued": t.Queued, "run": t.Run, "baseline": t.Baseline, "agent": t.Agent, "verify": t.Verify} {
		if d > 0 {
			m.phases.WithLabelValues(phase).Observe(d.Seconds())
		}
	}
	f := res.Funnel
	for i, n := range []int{f.Generated, f.Built, f.Passed, f.Stable, f.Improved, f.Kept} {
		m.funnel.WithLabelValues(funnelSteps[i]).Add(float64(n))
	}
	if res.State == handofftype.StateFailed {
		class := res.FailureClass
		if class == "" {
			class = handofftype.FailureInternal // recorded by a handoff without classes
		}
		m.failures.WithLabelValues(string(class)).Inc()
	}
}

// dbCollector reads, at each scrape, what only the database knows: the
// tasks in each state, the queue and the live workers.
type dbCollector struct{ s *Server }

var (
	tasksDesc   = prometheus.NewDesc("handoff_tasks", "Tasks in the database by state.", []string{"state"}, nil)
	queueDesc   = prometheus.NewDesc("handoff_queue_depth", "Tasks waiting for a worker (QUEUED).", nil, nil)
	workersDesc = prometheus.NewDesc("handoff_workers_live", "Worker processes whose heartbeat is recent.", nil, nil)
)

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tasksDesc
	ch <- queueDesc
	ch <- workersDesc
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, done := context.WithTimeout(context.Background(), 5*time.Second)
	defer done()
	counts, err := c.s.tasks.CountByState(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(tasksDesc, err)
	} else {
		for _, st := range []handofftype.State{handofftype.StateQueued, handofftype.StateRunning, handofftype.StateCompleted,
			handofftype.StateFailed, handofftype.StateCancelled} {
			ch <- prometheus.MustNewConstMetric(tasksDesc, prometheus.GaugeValue, float64(counts[st]), string(st))
		}
		ch <- prometheus.MustNewConstMetric(queueDesc, prometheus.GaugeValue, float64(counts[handofftype.StateQueued]))
	}
	workers, err := c.s.c.Workers(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(workersDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(workersDesc, prometheus.GaugeValue, float64(len(workers)))
}

// serveMetrics answers GET /metrics: to an admin token, or to anyone with
// Config.MetricsPublic.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !s.cfg.MetricsPublic {
		if tok := s.authenticate(w, r, store.ScopeAdmin); tok == nil {
			return
		}
	}
	s.metrics.handler.ServeHTTP(w, r)
}
