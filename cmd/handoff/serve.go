package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/time/rate"

	"github.com/handoff-dev/handoff"
	"github.com/handoff-dev/handoff/internal/server"
)

func newServeCmd(a *app) *cobra.Command {
	var (
		addr, cert, key string
		worker, public  bool
		workers         int
		rps             float64
		burst           int
		grace           time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve [--addr HOST:PORT] [--tls-cert FILE --tls-key FILE] [--worker]",
		Short: "Serve the HTTP API on the database (docs/api.md)",
		Long: `serve answers handoff's HTTP API on the database every other command uses: clients upload a
workspace (as blobs or a tar.gz), submit tasks on it, wait for results and fetch the kept tests to
write them into their own workspace. Every /v1 route needs a token from ` + "`handoff token create`" + `.
The OpenAPI document is at /openapi.json and its docs page at /docs; Prometheus metrics at
/metrics (an admin token, or none with --metrics-public); the web dashboard at / (sign in with a
token that has the read scope; docs/dashboard.md).

serve runs no worker unless --worker: start workers with ` + "`handoff worker`" + ` on any machine that
reaches the database. It listens on loopback by default; to serve other machines, give --tls-cert
and --tls-key, or put it behind a TLS-terminating proxy (docs/security.md). The address it listens
on is printed on stderr (useful with --addr 127.0.0.1:0). SIGINT or SIGTERM stop it gracefully.`,
		Example: `  handoff token create --name ci --scope submit,read
  handoff serve --addr 127.0.0.1:8080
  handoff serve --addr :8443 --tls-cert cert.pem --tls-key key.pem --worker --concurrency 8`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (cert == "") != (key == "") {
				return usageErr("--tls-cert and --tls-key go together; give both, or neither to serve plain HTTP")
			}
			if rps <= 0 || burst < 1 {
				return usageErr("--rate must be above 0 and --burst at least 1")
			}
			ctx := cmd.Context()
			logger := slog.New(slog.NewTextHandler(a.stderr, nil))
			c, err := a.openWith(ctx, workers, logger)
			if err != nil {
				return err
			}
			defer c.Close(context.Background())
			if worker {
				if err := c.StartWorker(ctx); err != nil {
					return err
				}
			}
			srv := server.New(server.Config{Client: c, Logger: logger, Rate: rate.Limit(rps), Burst: burst,
				Version: readBuildVersion().String(), MetricsPublic: public})
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return usageErr("listening on %s: %v; give another --addr", addr, err)
			}
			scheme := "http"
			if cert != "" {
				scheme = "https"
			}
			hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
			hs.RegisterOnShutdown(srv.Close) // ends the event streams, which Shutdown would wait for
			fmt.Fprintf(a.stderr, "handoff serve: listening on %s://%s (database %s; %s)\n", scheme, ln.Addr(), c.Database(),
				map[bool]string{true: "working tasks here too", false: "no worker: start `handoff worker`"}[worker])
			done := make(chan error, 1)
			go func() {
				if cert != "" {
					done <- hs.ServeTLS(ln, cert, key)
				} else {
					done <- hs.Serve(ln)
				}
			}()
			select {
			case err := <-done:
				return err
			case <-ctx.Done():
			}
			fmt.Fprintln(a.stderr, "handoff serve: stopping")
			sctx, stop := context.WithTimeout(context.Background(), grace)
			defer stop()
			if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			return c.Close(sctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (port 0: any free port, printed on stderr)")
	f.StringVar(&cert, "tls-cert", "", "TLS certificate file (PEM); with --tls-key, serve HTTPS")
	f.StringVar(&key, "tls-key", "", "TLS private key file (PEM)")
	f.BoolVar(&worker, "worker", false, "also work tasks in this process (default: serve only)")
	f.BoolVar(&public, "metrics-public", false, "serve GET /metrics without a token (default: an admin token)")
	f.IntVar(&workers, "concurrency", 0, "tasks worked at once with --worker (default $HANDOFF_WORKERS, else 4)")
	f.Float64Var(&rps, "rate", float64(server.DefaultRate), "requests per second per token (token bucket)")
	f.IntVar(&burst, "burst", server.DefaultBurst, "burst of requests per token")
	f.DurationVar(&grace, "grace", handoff.DefaultShutdownGrace, "time running requests and tasks get to finish when stopping")
	return cmd
}
